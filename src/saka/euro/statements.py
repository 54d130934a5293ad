"""EUR postings explained (``saka.ledger.statements``): the sentence and calculation of each
line of a member's history, from what was stored when it was booked."""

from __future__ import annotations

from collections.abc import Sequence

from saka.euro.models import EuroPosting
from saka.ledger.statements import Explained


def postings_explained(*, postings: Sequence[EuroPosting]) -> list[Explained]:
    """One :class:`Explained` per posting, in order; the postings come with their entry
    (``select_related("entry")``). Queries: constant in the number of postings."""
    out = []
    for posting in postings:
        entry = posting.entry
        cents = abs(posting.amount)
        verb = "credited" if posting.amount > 0 else "debited"
        out.append(
            Explained(
                f"{entry.kind}: {verb} {cents // 100}.{cents % 100:02d} EUR.", calculation=None
            )
        )
    return out
