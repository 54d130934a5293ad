"""SAKA postings explained (``saka.ledger.statements``): the sentence and calculation of each
line of a member's history, from what was stored when it was booked."""

from __future__ import annotations

from collections.abc import Sequence

from saka.grains.models import SakaPosting
from saka.ledger.statements import Explained


def postings_explained(*, postings: Sequence[SakaPosting]) -> list[Explained]:
    """One :class:`Explained` per posting, in order; the postings come with their entry
    (``select_related("entry")``). Queries: constant in the number of postings."""
    out = []
    for posting in postings:
        entry = posting.entry
        verb = "received" if posting.amount > 0 else "spent"
        out.append(
            Explained(f"{entry.kind}: {verb} {abs(posting.amount)} grains.", calculation=None)
        )
    return out
