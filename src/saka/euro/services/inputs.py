"""Input rules shared by the EUR services: an id is a positive 64-bit integer."""

from __future__ import annotations

from typing import Any


def parse_id(value: Any, error: type[Exception], **data: Any) -> int:
    """``value`` as an id (an int in 1..2**63-1); anything else raises ``error(**data)``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        raise error(**data)
    return value
