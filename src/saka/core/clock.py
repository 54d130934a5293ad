"""Time: aware UTC datetimes, passed in as ``as_of``; calendar days in a configured zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from saka.core.errors import ValidationError


def now() -> datetime:
    return timezone.now()


# Instants outside this range are refused: far from any real operation, and date arithmetic
# (windows of up to ten years) stays in range.
INSTANT_MIN = datetime(2000, 1, 1, tzinfo=UTC)
INSTANT_MAX = datetime(3000, 1, 1, tzinfo=UTC)


def check_instant_range(value: datetime, *, field: str = "as_of") -> datetime:
    try:
        in_range = INSTANT_MIN <= value < INSTANT_MAX
    except OverflowError:  # an offset that pushes the instant out of datetime's range
        in_range = False
    if not in_range:
        raise ValidationError(f"{field} must be between 2000 and 2999.", field=field)
    return value


def ensure_aware(value: datetime, *, field: str = "as_of") -> datetime:
    if timezone.is_naive(value):
        raise ValidationError(f"{field} must be timezone-aware.", field=field)
    return value


def check_instant(value: datetime, *, field: str = "as_of") -> datetime:
    """``value`` if it is an aware instant in 2000..2999; ``ValidationError`` otherwise. The
    one check of every instant a caller passes in (services, commands, API fields)."""
    if not isinstance(value, datetime):
        raise ValidationError(f"{field} must be a datetime.", field=field)
    return check_instant_range(ensure_aware(value, field=field), field=field)


def as_of_or_now(as_of: datetime | None) -> datetime:
    """A service's ``as_of``, checked (:func:`check_instant`), or now when it is ``None``."""
    return now() if as_of is None else check_instant(as_of)


def day_bounds(as_of: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The [start, end) of the calendar day containing ``as_of`` in ``tz``, as aware datetimes."""
    local = ensure_aware(as_of).astimezone(tz)
    start = datetime(local.year, local.month, local.day, tzinfo=tz)
    end = datetime.combine(start.date() + timedelta(days=1), start.timetz())
    return start, end


def parse_instant(text: str, *, field: str = "as_of") -> datetime:
    """An ISO 8601 instant with a UTC offset (``2026-11-23T03:00:00+00:00`` or ``...Z``)."""
    try:
        parsed = parse_datetime(text.strip())
    except (ValueError, OverflowError):  # 2026-02-30, +25:00, year 0...
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        raise ValidationError(
            f"{field} must be an ISO 8601 datetime with a UTC offset, e.g. 2026-11-23T03:00:00Z.",
            field=field,
        )
    return parsed
