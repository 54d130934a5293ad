"""Validating a request at the edge: the JSON body (known fields only) and the query
parameters a serializer declares."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from saka.core.errors import ValidationError


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate a request body: a JSON object with known fields only (a typo never falls back
    to a default)."""
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.")
    serializer = serializer_class(data=data)
    unknown = sorted(set(data) - set(serializer.fields))
    if unknown:
        raise ValidationError(
            f"Unknown fields: {', '.join(map(str, unknown))}.",
            fields={k: ["Unknown field."] for k in unknown},
        )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def validated_query(serializer_class: type[serializers.Serializer], params: Any) -> dict[str, Any]:
    """Validate the query parameters a serializer declares (empty values count as absent;
    other parameters, such as the paginator's, are left to their owners)."""
    fields = serializer_class().fields
    data = {k: v for k, v in params.items() if k in fields and v != ""}
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
