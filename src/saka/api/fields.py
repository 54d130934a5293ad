from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from saka.core.money import MAX_AMOUNT, parse_amount


class AmountField(serializers.Field):
    """A strictly positive integer amount (JSON integer or digit string); never a float."""

    def __init__(self, *, maximum: int = MAX_AMOUNT, **kwargs: Any) -> None:
        self.maximum = maximum
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        return parse_amount(data, field=self.field_name or "amount", maximum=self.maximum)

    def to_representation(self, value: int) -> int:
        return value


@extend_schema_field(OpenApiTypes.INT)
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
