"""A posting as a member reads it: a plain sentence and the figures behind it.

Each book (``saka.grains.statements``, ``saka.euro.statements``) turns its postings into
:class:`Explained` lines from what was stored when the entry was booked (the entry's
``calculation``, the posting's own columns, the run's frozen parameters), never from the
accounts' current state: a statement printed today and in a year says the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Explained:
    """``explanation``: one sentence a member can read; ``calculation``: the figures it
    rests on (integers in minor units, rates as decimal strings), or None for postings booked
    before statements existed."""

    explanation: str
    calculation: dict[str, Any] | None
