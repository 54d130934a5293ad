"""The compost forecast in words: what :func:`saka.grains.selectors.compost_preview` says, as
one sentence a member reads, dated by the weekly compost run that would take the grains.

The date is the first instant of the weekly compost's beat schedule (``saka.jobs.schedule``,
Monday 03:00 UTC by default) at or after the instant the wallet becomes eligible: a run
composts a wallet idle at its own ``as_of``, so that run is the first to take the grains.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from saka.grains.policy import policy_current
from saka.grains.rules import CompostRule
from saka.grains.selectors import compost_preview, saka_public_settings
from saka.jobs.schedule import BEAT_SCHEDULE

COMPOST_SCHEDULE: Any = BEAT_SCHEDULE["saka-compost-weekly"]["schedule"]  # a Celery crontab


class ForecastCase:
    NOW = "now"  # eligible: the next weekly compost takes the grains
    IDLE_LATER = "idle_later"  # the grains compost later if the member stays inactive
    NOTHING = "nothing"  # waiting changes nothing (balance or amount under its minimum)
    OFF = "off"  # SAKA is switched off: no compost runs


@dataclass(frozen=True)
class CompostForecast:
    """``case`` (:class:`ForecastCase`), the sentence, the grains at stake (0 when nothing
    composts) and the instant of the weekly run that takes them (None when none does)."""

    case: str
    sentence: str
    amount: int
    run_at: datetime | None


def compost_run_at_or_after(instant: datetime) -> datetime:
    """The first instant of the weekly compost's schedule at or after ``instant`` (UTC)."""
    utc = instant.astimezone(UTC)
    cron = COMPOST_SCHEDULE
    for offset in range(8):  # a weekly schedule fires within any 8 consecutive days
        day = utc.date() + timedelta(days=offset)
        if (
            day.isoweekday() % 7 not in cron.day_of_week  # Celery's days: 0 is Sunday
            or day.day not in cron.day_of_month
            or day.month not in cron.month_of_year
        ):
            continue
        for hour in sorted(cron.hour):
            for minute in sorted(cron.minute):
                candidate = datetime.combine(day, time(hour, minute), tzinfo=UTC)
                if candidate >= utc:
                    return candidate
    raise ValueError(f"the compost schedule {cron!r} does not fire every week")


def compost_forecast(*, member_id: int, as_of: datetime) -> CompostForecast:
    """The member's compost forecast at ``as_of``, in words. Queries: those of the preview."""
    if not saka_public_settings().compost:
        return CompostForecast(
            ForecastCase.OFF, "SAKA is switched off: nothing composts.", amount=0, run_at=None
        )
    preview = compost_preview(member_id=member_id, as_of=as_of)
    if preview.eligible:
        run_at = compost_run_at_or_after(as_of)
        return CompostForecast(
            ForecastCase.NOW,
            f"The next weekly compost will take {grains(preview.amount)} "
            f"(on {day_words(run_at, as_of)}).",
            amount=preview.amount,
            run_at=run_at,
        )
    if preview.eligible_at is not None and preview.amount_if_idle > 0:
        run_at = compost_run_at_or_after(preview.eligible_at)
        return CompostForecast(
            ForecastCase.IDLE_LATER,
            f"If you stay inactive, {grains(preview.amount_if_idle)} will compost on "
            f"{day_words(run_at, as_of)}.",
            amount=preview.amount_if_idle,
            run_at=run_at,
        )
    return CompostForecast(
        ForecastCase.NOTHING,
        _nothing_sentence(preview.reason, preview.balance, policy_current(at=as_of).compost),
        0,
        None,
    )


def _nothing_sentence(reason: str, balance: int, rule: CompostRule) -> str:
    if reason == "balance_below_minimum":
        return (
            f"Nothing will compost: your balance of {grains(balance)} is under the "
            f"{grains(rule.min_balance)} from which idle grains compost."
        )
    if reason == "amount_below_minimum":
        return (
            f"Nothing will compost: {percent(rule.rate)} % of your balance is under "
            f"the smallest compost, {grains(rule.min_amount)}."
        )
    return "Nothing will compost from your wallet for now."


MONTHS = "January February March April May June July August September October November December"
MONTH_NAMES = MONTHS.split()


def grains(n: int) -> str:
    return f"{n} grain" if abs(n) == 1 else f"{n} grains"


def percent(rate: Decimal) -> str:
    """A rate as a percentage without trailing zeros: Decimal("0.10") -> "10"."""
    return f"{(rate * 100).normalize():f}"


def day_words(instant: datetime, today: datetime) -> str:
    """ "14 January", with the year when it is not ``today``'s (both read in UTC)."""
    utc = instant.astimezone(UTC)
    words = f"{utc.day} {MONTH_NAMES[utc.month - 1]}"
    return words if utc.year == today.astimezone(UTC).year else f"{words} {utc.year}"
