"""History items that explain themselves: ``explanation`` and ``calculation`` on every line,
computed for the whole page at once by the book's ``postings_explained`` (constant queries)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from saka.ledger.statements import Explained

EXPLAINED_ATTR = "_saka_explained"


class ExplainedListSerializer(serializers.ListSerializer):
    """Explains the page's postings in one call before each item is rendered."""

    def to_representation(self, data: Any) -> list[Any]:
        items = list(data.all() if hasattr(data, "all") else data)
        explain: Callable[..., list[Explained]] = self.child.explain  # type: ignore[union-attr]
        for item, explained in zip(items, explain(postings=items), strict=True):
            setattr(item, EXPLAINED_ATTR, explained)
        return super().to_representation(items)


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "additionalProperties": True,
        "description": "the figures the sentence rests on, stored when the entry was booked "
        "(null for entries booked before statements existed)",
    }
)
class CalculationField(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> dict[str, Any] | None:
        return _explained_of(self.parent, value).calculation


class ExplanationField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            source="*",
            read_only=True,
            help_text="one sentence: why this line changed the balance",
            **kwargs,
        )

    def to_representation(self, value: Any) -> str:
        return _explained_of(self.parent, value).explanation


def _explained_of(serializer: Any, posting: Any) -> Explained:
    explained = getattr(posting, EXPLAINED_ATTR, None)
    if explained is None:  # a single item rendered outside a list
        explained = serializer.explain(postings=[posting])[0]
        setattr(posting, EXPLAINED_ATTR, explained)
    return explained
