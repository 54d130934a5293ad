"""Poll endpoints: the members' list, one poll, voting, the results, my vote; staff poll
creation (``views``, ``serializers``, ``urls``).

May import ``saka.api.common``, ``saka.polls``, ``saka.grains`` (a vote is the grains service
``saka.grains.votes.poll_vote``: it spends and harvests), ``saka.audit.roles`` and
``saka.core``; never another domain package of ``saka.api``.
"""
