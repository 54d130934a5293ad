from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from saka.core.money import MAX_AMOUNT, parse_amount


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT})
class AmountField(serializers.Field):
    """A strictly positive integer amount (JSON integer or digit string); never a float."""

    def to_internal_value(self, data: Any) -> int:
        return parse_amount(data, field=self.field_name or "amount")

    def to_representation(self, value: int) -> int:
        return value


@extend_schema_field(OpenApiTypes.INT)
class IdField(serializers.IntegerField):
    """A positive database id (rejects floats, bools and out-of-range numbers)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool | float) or (isinstance(data, str) and not data.isdigit()):
            self.fail("invalid")
        return int(super().to_internal_value(data))
