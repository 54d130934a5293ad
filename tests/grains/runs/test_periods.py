"""``live_run_as_of``: a live run started on request (the API) runs now, or at an instant of
the current period that is not in the future; never while SAKA is off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saka.core.errors import ValidationError
from saka.grains.errors import SakaDisabled
from saka.grains.runs import periods
from saka.grains.runs.periods import live_run_as_of

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday: ISO week 2026-W10, month 2026-03
MONDAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # the first instant of the week
MICRO = timedelta(microseconds=1)
KINDS = ["compost", "redistribution"]


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(periods, "now", lambda: NOW)


@pytest.mark.parametrize("kind", KINDS)
def test_without_an_instant_the_run_is_now(kind: str) -> None:
    assert live_run_as_of(kind=kind, as_of=None) == NOW


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("as_of", [NOW, NOW - MICRO, MONDAY], ids=["now", "just_before", "monday"])
def test_an_instant_of_the_current_period_not_in_the_future_is_kept(
    kind: str, as_of: datetime
) -> None:
    assert live_run_as_of(kind=kind, as_of=as_of) == as_of


@pytest.mark.parametrize(
    ("kind", "as_of", "period"),
    [
        pytest.param("compost", NOW + MICRO, "2026-W10", id="compost_future"),
        pytest.param("compost", MONDAY - MICRO, "2026-W10", id="compost_last_week"),
        pytest.param("compost", NOW + timedelta(days=7), "2026-W10", id="compost_next_week"),
        pytest.param("redistribution", NOW + MICRO, "2026-03", id="redistribution_future"),
        pytest.param(
            "redistribution",
            datetime(2026, 3, 1, tzinfo=UTC) - MICRO,
            "2026-03",
            id="redistribution_last_month",
        ),
        pytest.param(
            "redistribution", NOW + timedelta(days=40), "2026-03", id="redistribution_next_month"
        ),
    ],
)
def test_another_period_or_the_future_is_refused(kind: str, as_of: datetime, period: str) -> None:
    with pytest.raises(ValidationError) as caught:
        live_run_as_of(kind=kind, as_of=as_of)
    assert caught.value.data == {"field": "as_of", "period": period}


def test_a_compost_on_sunday_belongs_to_last_week() -> None:
    # the first of the month is a Sunday: the current month, but last ISO week
    sunday = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert live_run_as_of(kind="redistribution", as_of=sunday) == sunday
    with pytest.raises(ValidationError):
        live_run_as_of(kind="compost", as_of=sunday)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("as_of", [None, NOW], ids=["now", "an_instant"])
def test_refused_while_saka_is_off(kind: str, as_of: datetime | None, settings) -> None:
    settings.SAKA_ENABLED = False
    with pytest.raises(SakaDisabled):
        live_run_as_of(kind=kind, as_of=as_of)
