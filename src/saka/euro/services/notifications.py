"""Notifications of the EUR services: ``notify`` sends a ``saka.euro.signals`` signal after
commit (callers wrap it in ``transaction.on_commit``)."""

from __future__ import annotations

import logging
from typing import Any

from saka.euro import signals

logger = logging.getLogger("saka.euro")


def notify(name: str, **kwargs: Any) -> None:
    """Runs after commit (``transaction.on_commit``): log, then tell the receivers of the
    ``saka.euro.signals`` signal ``name`` (mail, push, tasks...)."""
    logger.debug("%s %s", name, {k: getattr(v, "__dict__", v) for k, v in kwargs.items()})
    for receiver, response in getattr(signals, name).send_robust(sender=None, **kwargs):
        if isinstance(response, Exception):
            logger.error("receiver %r of %s failed: %r", receiver, name, response)
