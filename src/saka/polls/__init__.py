"""Polls members vote in, single choice or quadratic, optionally boosted by SAKA.

A domain beside ``saka.projects``: it may import ``saka.audit``, ``saka.ledger`` and
``saka.core``, never ``saka.grains`` (the SAKA part of a vote, spending and harvesting, lives
in ``saka.grains.votes`` and calls :func:`saka.polls.services.vote_record` in its transaction,
as a boost calls ``project_boost_record``). See ``docs/polls.md``.
"""
