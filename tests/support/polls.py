"""Poll helpers: a poll open around the fixed instant ``T0``, its options' ids."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from saka.polls.services import poll_create
from tests.support.clock import T0


def make_poll(*, method: str = "quadratic", options: int = 3, **kwargs: Any) -> Any:
    """A poll (system-created) open from T0 - 1 day to T0 + 7 days unless given."""
    kwargs.setdefault("opens_at", T0 - timedelta(days=1))
    kwargs.setdefault("closes_at", T0 + timedelta(days=7))
    return poll_create(
        actor_id=None,
        title=kwargs.pop("title", "Which garden first?"),
        method=method,
        options=[f"option {i}" for i in range(1, options + 1)],
        **kwargs,
    )


def option_ids(poll: Any) -> list[int]:
    return list(poll.options.order_by("position").values_list("pk", flat=True))
