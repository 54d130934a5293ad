"""Fixtures of the engine tests: ``tiny``, a tiny run kind (``tests.engine.tiny``)."""

from __future__ import annotations

import pytest

from tests.engine.tiny import Tiny


@pytest.fixture
def tiny() -> Tiny:
    return Tiny()
