"""Generic serializer fields: amounts, ids, instants, strict booleans, EUR money and
percentages. Each parses with the one ``saka.core`` parser of its kind."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from saka.api.common.schema import money_pattern
from saka.core.clock import INSTANT_MAX, INSTANT_MIN, check_instant, parse_instant
from saka.core.errors import DomainError
from saka.core.money import (
    MAX_AMOUNT,
    format_cents,
    parse_amount,
    parse_cents,
    parse_percentage,
)

MONEY_OUT_PATTERN = r"^-?(0|[1-9][0-9]*)\.[0-9]{2}$"


class AmountField(serializers.Field):
    """A strictly positive integer amount (JSON integer or digit string); never a float."""

    def __init__(self, *, maximum: int = MAX_AMOUNT, **kwargs: Any) -> None:
        self.maximum = maximum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        return parse_amount(data, field=self.field_name or "amount", maximum=self.maximum)

    def to_representation(self, value: int) -> int:
        return value


class BoundedCharField(serializers.CharField):
    """A string whose ``max_length`` bounds what is sent, as the schema's ``maxLength`` says:
    DRF trims the outer spaces and checks the length after, so a value padded past the bound
    would be accepted."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return str(super().to_internal_value(data))


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdField(serializers.IntegerField):
    """A positive database id (rejects floats, bools and out-of-range numbers)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool | float) or (
            isinstance(data, str) and not (data.isascii() and data.isdigit())
        ):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class AmountFieldExtension(OpenApiSerializerFieldExtension):
    """Documents each AmountField with its own bounds."""

    target_class = AmountField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": self.target.maximum}


class StrictBooleanField(serializers.BooleanField):
    """Only JSON ``true`` / ``false``: no "yes", 1 or "on" deciding whether grains move.

    Missing is missing in every content type: DRF's ``BooleanField`` reads a field absent from
    a form body as ``False`` (an unticked checkbox), which made ``dry_run`` default to a live
    run for form clients. Here it is required (or takes its declared default) as in JSON."""

    default_empty_html = empty

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)
        raise AssertionError  # pragma: no cover - fail() raises


_LAST_DAY = INSTANT_MAX - timedelta(days=1)


# What the schema says of an instant: an RFC 3339 date-time of the years 2000-2999, at most 64
# characters (the server also refuses the few offsets that push it out of that range in UTC).
INSTANT_SCHEMA = {
    "type": "string",
    "format": "date-time",
    "pattern": "^2[0-9]{3}-",
    "maxLength": 64,
}
# A percentage 0 .. 100 with at most two decimals (``parse_percentage``'s range, as a pattern).
PERCENT_IN_PATTERN = r"^(100(\.00?)?|(0|[1-9][0-9]?)(\.[0-9]{1,2})?)$"


@extend_schema_field(INSTANT_SCHEMA)
class InstantField(serializers.Field):
    """An ISO 8601 instant with a UTC offset (``2026-11-23T03:00:00Z``), parsed by
    :func:`saka.core.clock.parse_instant`, in the range :func:`~saka.core.clock.check_instant`
    accepts."""

    default_error_messages = {
        "invalid": "Must be an ISO 8601 datetime with a UTC offset, e.g. 2026-11-23T03:00:00Z.",
        "range": f"Must be between {INSTANT_MIN:%Y-%m-%d} and {_LAST_DAY:%Y-%m-%d} (UTC).",
    }

    def to_internal_value(self, data: Any) -> datetime:
        if not isinstance(data, str) or len(data) > 64:
            self.fail("invalid")
        field = self.field_name or "as_of"
        try:
            value = parse_instant(data, field=field)
        except DomainError:
            self.fail("invalid")
        try:
            return check_instant(value, field=field)
        except DomainError:
            self.fail("range")
        raise AssertionError  # pragma: no cover - fail() raises

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


def cents(value: int) -> str:
    return format_cents(int(value))


@extend_schema_field(
    {"type": "string", "pattern": MONEY_OUT_PATTERN, "example": "12.34", "readOnly": True}
)
class MoneyOut(serializers.Field):
    """Integer cents shown as a decimal string with two places (read only)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: int) -> str:
        return cents(value)


class MoneyIn(serializers.Field):
    """A EUR amount: a string like ``"12.34"`` (at most two decimals), parsed exactly."""

    def __init__(self, *, maximum: int, **kwargs: Any) -> None:
        self.maximum = maximum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        return parse_cents(data, field=self.field_name or "amount", maximum=self.maximum)

    def to_representation(self, value: int) -> str:
        return cents(value)


class MoneyInExtension(OpenApiSerializerFieldExtension):
    """Documents each MoneyIn with its own range: 0.01 .. its maximum, as a pattern."""

    target_class = MoneyIn

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {"type": "string", "pattern": money_pattern(self.target.maximum), "example": "12.34"}


@extend_schema_field({"type": "string", "pattern": PERCENT_IN_PATTERN, "example": "12.50"})
class PercentageIn(serializers.Field):
    """A percentage from "0" to "100" with at most two decimals."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        parse_percentage(data, field=self.field_name or "percentage")  # the service reads it
        return data

    def to_representation(self, value: str) -> str:
        return value

    default_error_messages = {"invalid": 'A percentage is a string like "12.50".'}
