"""Fixtures of the run endpoint tests: ``at`` (now, to the second) and ``a_run`` (a dry
compost at ``at``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from saka.grains.models import Run
from saka.grains.runs.compost import compost_run_start


@pytest.fixture
def at() -> Any:
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def a_run(at: Any) -> Run:
    return compost_run_start(as_of=at, dry_run=True)
