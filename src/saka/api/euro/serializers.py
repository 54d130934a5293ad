"""Serializers of the EUR endpoints. Money is a decimal string with exactly two places
(``"12.34"``) both ways; percentages too (``"12.50"``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from saka.api.common.fields import (
    BoundedCharField,
    IdField,
    InstantField,
    MoneyIn,
    MoneyOut,
    PercentageIn,
    cents,
)
from saka.api.common.statements import (
    CalculationField,
    ExplainedListSerializer,
    ExplanationField,
)
from saka.core.money import format_percentage
from saka.euro.conf import MAX_DEPOSIT_CENTS, MAX_PLEDGE_CENTS, MAX_SETTLEMENT_CHUNK
from saka.euro.models import CampaignStatus, EuroPosting, Pledge, PledgeKind, PledgeStatus
from saka.euro.services.pockets import DIRECTIONS, POCKET_NAME_PATTERN
from saka.euro.statements import postings_explained

# --- wallet, pockets, history -------------------------------------------------------------------


class PocketSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    percentage = serializers.SerializerMethodField()
    balance = MoneyOut()
    created_at = serializers.DateTimeField()

    def get_percentage(self, obj: Any) -> str:
        return format_percentage(obj.percentage_bp)


class EuroWalletSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    available = MoneyOut(help_text="main balance: can be pledged or moved to a pocket")
    held = MoneyOut(help_text="in escrow for held pledges")
    pockets_total = MoneyOut()
    total = MoneyOut()
    allocated = serializers.SerializerMethodField(help_text="Σ of the pockets' percentages")
    pockets = PocketSerializer(many=True)

    def get_allocated(self, obj: Any) -> str:
        return format_percentage(obj.allocated_bp)


@extend_schema_field({"type": "string", "pattern": POCKET_NAME_PATTERN, "example": "Holidays"})
class PocketNameField(BoundedCharField):
    """A pocket name: a JSON string, as the schema says (DRF would turn ``0`` into ``"0"``),
    documented with the service's own rule (``POCKET_NAME_PATTERN``: 1 to 60 characters once
    trimmed, no control character)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class PocketCreateInSerializer(serializers.Serializer):
    name = PocketNameField(max_length=60)
    percentage = PercentageIn(required=False, default="0")


class PocketUpdateInSerializer(serializers.Serializer):
    name = PocketNameField(max_length=60, required=False)
    percentage = PercentageIn(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Send a name, a percentage or both.")
        return attrs


class PocketResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pocket_id")
    name = serializers.CharField()
    percentage = serializers.SerializerMethodField()
    balance = MoneyOut()
    allocated = serializers.SerializerMethodField(help_text="Σ of the pockets' percentages")

    def get_percentage(self, obj: Any) -> str:
        return format_percentage(obj.percentage_bp)

    def get_allocated(self, obj: Any) -> str:
        return format_percentage(obj.allocated_bp)


class TransferInSerializer(serializers.Serializer):
    pocket_id = IdField()
    direction = serializers.ChoiceField(choices=list(DIRECTIONS))
    amount = MoneyIn(maximum=MAX_DEPOSIT_CENTS)


class TransferOutSerializer(serializers.Serializer):
    entry_id = serializers.IntegerField(allow_null=True)
    pocket_id = serializers.IntegerField()
    direction = serializers.CharField()
    amount = MoneyOut()
    wallet_balance = MoneyOut()
    pocket_balance = MoneyOut()
    created_at = serializers.DateTimeField()


class EuroHistoryItemSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="entry.kind")
    account = serializers.SerializerMethodField(
        help_text='"main", "pocket" or "escrow" (a pledge released to its project)'
    )
    pocket_id = serializers.SerializerMethodField()
    amount = MoneyOut(help_text="signed: + credit, - debit")
    created_at = serializers.DateTimeField(source="entry.created_at")
    project_id = serializers.IntegerField(source="entry.project_id", allow_null=True)
    explanation = ExplanationField()
    calculation = CalculationField()

    explain = staticmethod(postings_explained)

    class Meta:
        model = EuroPosting
        list_serializer_class = ExplainedListSerializer
        fields = [
            "id",
            "entry_id",
            "kind",
            "account",
            "pocket_id",
            "amount",
            "created_at",
            "project_id",
            "explanation",
            "calculation",
        ]

    def get_account(self, obj: EuroPosting) -> str:
        return {"wallet": "main", "escrow": "escrow"}.get(obj.account.kind, "pocket")

    def get_pocket_id(self, obj: EuroPosting) -> int | None:
        pocket = getattr(obj.account, "pocket", None) if obj.account.kind == "pocket" else None
        return None if pocket is None else int(pocket.pk)


# --- pledges ------------------------------------------------------------------------------------


class PledgeInSerializer(serializers.Serializer):
    project_id = IdField()
    amount = MoneyIn(maximum=MAX_PLEDGE_CENTS, help_text="0.01 .. 100000.00")
    kind = serializers.ChoiceField(choices=PledgeKind.choices, default=PledgeKind.DONATION.value)


class PledgeOutSerializer(serializers.Serializer):
    pledge_id = serializers.IntegerField()
    entry_id = serializers.IntegerField()
    member_id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = MoneyOut()
    status = serializers.ChoiceField(choices=PledgeStatus.choices)
    available = MoneyOut(help_text="my main balance after the operation")
    created_at = serializers.DateTimeField()


class PledgeItemSerializer(serializers.ModelSerializer):
    amount = MoneyOut(source="amount_cents")
    commission = MoneyOut(source="commission_cents")
    net = MoneyOut(source="net_cents", help_text="what the project received")

    class Meta:
        model = Pledge
        fields = [
            "id",
            "project_id",
            "campaign_id",
            "kind",
            "amount",
            "status",
            "commission",
            "net",
            "created_at",
            "settled_at",
        ]


# --- campaigns and settlement -------------------------------------------------------------------


class CampaignSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    goal = MoneyOut()
    deadline = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    pledged = serializers.SerializerMethodField(help_text="count and amount by pledge status")
    settlement_status = serializers.CharField(allow_null=True)

    def get_pledged(self, obj: Any) -> dict[str, dict[str, Any]]:
        return {
            status: {
                "count": obj.totals[f"{status}_count"],
                "amount": cents(obj.totals[f"{status}_cents"]),
            }
            for status in PledgeStatus.values
        }


class CampaignListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=CampaignStatus.values, required=False, help_text="default: open"
    )
    project = IdField(required=False, help_text="a project id")


class CampaignItemSerializer(serializers.Serializer):
    """A campaign in the members' list (``saka.euro.selectors.campaign_list``)."""

    id = serializers.IntegerField()
    project_id = serializers.IntegerField()
    project_title = serializers.CharField()
    goal = MoneyOut(source="goal_cents")
    raised = MoneyOut(source="raised_cents", help_text="held and released pledges")
    deadline = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class ProjectCampaignSerializer(serializers.Serializer):
    """A project's campaign (``saka.euro.selectors.projects_with_campaign``): the open one,
    else the latest."""

    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    goal = MoneyOut()
    raised = MoneyOut(help_text="held and released pledges")
    deadline = serializers.DateTimeField()


class CampaignCreateInSerializer(serializers.Serializer):
    project_id = IdField()
    goal = MoneyIn(maximum=10**12)
    deadline = serializers.DateTimeField()


class CampaignStatusInSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[c for c in CampaignStatus.choices if c[0] != CampaignStatus.OPEN]
    )


class SettlementStartInSerializer(serializers.Serializer):
    chunk_size = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SETTLEMENT_CHUNK,
        required=False,
        allow_null=True,
        default=None,
        help_text="held pledges per chunk (default SAKA_SETTLEMENT_BATCH_SIZE); fixed when the "
        "settlement opens",
    )
    as_of = InstantField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Instant the pledges are settled at (default: now), neither in the future nor "
        "before the campaign closed; fixed when the settlement opens.",
    )

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and "batch_size" in data:  # its name before the engine
            raise serializers.ValidationError(
                {"batch_size": ["Renamed chunk_size (held pledges per chunk)."]}
            )
        if isinstance(data, dict) and isinstance(data.get("chunk_size"), bool | float):
            raise serializers.ValidationError({"chunk_size": ["A valid integer is required."]})
        return super().to_internal_value(data)


class SettlementLeaseSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    lo = serializers.IntegerField(help_text="exclusive lower pledge id of the chunk")
    hi = serializers.IntegerField(help_text="inclusive upper pledge id of the chunk")
    worker = serializers.CharField(help_text="host:pid[:thread] of the worker holding it")
    lease_until = serializers.DateTimeField()


class SettlementProgressSerializer(serializers.Serializer):
    """``saka.euro.selectors.settlement_progress``: the settlement's chunks and leases."""

    step = serializers.CharField()
    phase = serializers.IntegerField()
    total = serializers.IntegerField(required=False)
    done = serializers.IntegerField(required=False)
    leased = serializers.IntegerField(required=False, help_text="pending, held by a worker")
    pending = serializers.IntegerField(required=False, help_text="pending, free to claim")
    leases = SettlementLeaseSerializer(many=True)
    stalled = serializers.BooleanField(
        help_text="unfinished and nobody works on it (the resume task, a new request or an "
        "operator resumes it)"
    )


class SettlementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign_id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField(help_text="queued, running, interrupted or done")
    outcome = serializers.CharField()
    as_of = serializers.DateTimeField(help_text="the instant the pledges are settled at")
    commission_rate = serializers.CharField()
    chunk_size = serializers.IntegerField()
    pledges_total = serializers.IntegerField()
    pledges_done = serializers.IntegerField()
    pledges_skipped = serializers.IntegerField()
    chunks_done = serializers.IntegerField()
    phase = serializers.IntegerField()
    amount = serializers.CharField()
    commission = serializers.CharField()
    net_to_project = serializers.CharField()
    refunded = serializers.CharField()
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    trigger = serializers.CharField()
    triggered_by_id = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField(help_text="last progress")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    progress = SettlementProgressSerializer(
        required=False, help_text="one settlement's detail, a settlement started or resumed"
    )
