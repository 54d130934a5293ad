"""EUR endpoints: thin, one service or selector call per request.

Members only reach their own wallet, pockets and pledges (no member id in any member
route). The payment webhooks (one per provider) are public but accept only correctly signed
events.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http.request import RawPostDataException
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from saka.api.common.base import (
    ERRORS,
    IDEMPOTENCY_HEADER,
    MemberView,
    StaffView,
    idempotency_key_of,
    member_id_of,
    written,
)
from saka.api.common.errors import ErrorSerializer
from saka.api.common.pagination import NewestFirst
from saka.api.common.permissions import IsMember
from saka.api.common.throttling import MemberThrottle
from saka.api.common.validation import validated, validated_query
from saka.api.euro import serializers as s
from saka.audit import roles
from saka.euro import selectors
from saka.euro.errors import InvalidEvent
from saka.euro.models import Trigger
from saka.euro.payments import webhooks
from saka.euro.payments.providers import helloasso, provider_get, stripe
from saka.euro.services import campaigns, pledges, pockets
from saka.jobs.runs import settlement_request
from saka.ledger.idempotency import replay_watch

MEMBER_TAG = ["EUR (member)"]
STAFF_TAG = ["EUR (staff)"]


# --- member: wallet, history, pockets, transfers ------------------------------------------------


class EuroWalletView(MemberView):
    @extend_schema(
        operation_id="euro_wallet",
        responses={200: s.EuroWalletSerializer, **ERRORS},
        tags=MEMBER_TAG,
        summary="My EUR wallet: available, held in escrow, pockets",
    )
    def get(self, request: Request) -> Response:
        view = selectors.wallet_summary(member_id=member_id_of(request))
        return Response(s.EuroWalletSerializer(view).data)


class EuroHistoryView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = s.EuroHistoryItemSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        return selectors.wallet_history(member_id=member_id_of(self.request))

    @extend_schema(
        operation_id="euro_history",
        tags=MEMBER_TAG,
        summary="My EUR history: main balance and pockets (cursor pagination, newest first)",
        responses={200: s.EuroHistoryItemSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PocketListView(MemberView):
    @extend_schema(
        operation_id="euro_pockets_list",
        responses={200: s.PocketSerializer(many=True), **ERRORS},
        tags=MEMBER_TAG,
        summary="My open pockets",
    )
    def get(self, request: Request) -> Response:
        return Response(
            s.PocketSerializer(
                selectors.pocket_list(member_id=member_id_of(request)), many=True
            ).data
        )

    @extend_schema(
        operation_id="euro_pockets_create",
        request=s.PocketCreateInSerializer,
        responses={201: s.PocketResultSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=MEMBER_TAG,
        summary="Open a pocket (at most 100; Σ percentages <= 100)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.PocketCreateInSerializer, request.data)
        with replay_watch() as watch:
            result = pockets.pocket_create(
                member_id=member_id_of(request), idempotency_key=idempotency_key_of(request), **data
            )
        return written(s.PocketResultSerializer(result).data, watch)


class PocketDetailView(MemberView):
    @extend_schema(
        operation_id="euro_pockets_detail",
        responses={200: s.PocketSerializer, **ERRORS},
        tags=MEMBER_TAG,
        summary="One of my pockets",
    )
    def get(self, request: Request, pocket_id: int) -> Response:
        pocket = selectors.pocket_get(member_id=member_id_of(request), pocket_id=pocket_id)
        return Response(s.PocketSerializer(pocket).data)

    @extend_schema(
        operation_id="euro_pockets_update",
        request=s.PocketUpdateInSerializer,
        responses={200: s.PocketResultSerializer, **ERRORS},
        tags=MEMBER_TAG,
        summary="Rename a pocket and/or set its percentage",
    )
    def patch(self, request: Request, pocket_id: int) -> Response:
        data = validated(s.PocketUpdateInSerializer, request.data)
        result = pockets.pocket_update(member_id=member_id_of(request), pocket_id=pocket_id, **data)
        return Response(s.PocketResultSerializer(result).data)

    @extend_schema(
        operation_id="euro_pockets_close",
        responses={200: s.TransferOutSerializer, **ERRORS},
        tags=MEMBER_TAG,
        summary="Close a pocket: its balance goes back to my main balance",
    )
    def delete(self, request: Request, pocket_id: int) -> Response:
        result = pockets.pocket_close(member_id=member_id_of(request), pocket_id=pocket_id)
        return Response(s.TransferOutSerializer(asdict(result)).data)


class TransferView(MemberView):
    @extend_schema(
        operation_id="euro_transfers_create",
        request=s.TransferInSerializer,
        responses={201: s.TransferOutSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=MEMBER_TAG,
        summary="Move money between my main balance and one of my pockets",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.TransferInSerializer, request.data)
        with replay_watch() as watch:
            result = pockets.pocket_transfer(
                member_id=member_id_of(request), idempotency_key=idempotency_key_of(request), **data
            )
        return written(s.TransferOutSerializer(asdict(result)).data, watch)


# --- member: pledges, campaigns -----------------------------------------------------------------


class PledgeListView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = s.PledgeItemSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        return selectors.pledge_list(
            member_id=member_id_of(self.request),
            status=self.request.query_params.get("status") or None,
        )

    @extend_schema(
        operation_id="euro_pledges_list",
        parameters=[
            OpenApiParameter("status", str, enum=["held", "released", "refunded", "cancelled"])
        ],
        tags=MEMBER_TAG,
        summary="My pledges (cursor pagination, newest first)",
        responses={200: s.PledgeItemSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="euro_pledges_create",
        request=s.PledgeInSerializer,
        responses={201: s.PledgeOutSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=MEMBER_TAG,
        summary="Pledge to a project's open campaign (held in escrow until settlement)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.PledgeInSerializer, request.data)
        with replay_watch() as watch:
            result = pledges.pledge_create(
                member_id=member_id_of(request), idempotency_key=idempotency_key_of(request), **data
            )
        return written(s.PledgeOutSerializer(asdict(result)).data, watch)


class PledgeCancelView(MemberView):
    @extend_schema(
        operation_id="euro_pledges_cancel",
        request=None,
        responses={200: s.PledgeOutSerializer, **ERRORS},
        tags=MEMBER_TAG,
        summary="Take back a held pledge while its campaign is open",
    )
    def post(self, request: Request, pledge_id: int) -> Response:
        result = pledges.pledge_cancel(member_id=member_id_of(request), pledge_id=pledge_id)
        return Response(s.PledgeOutSerializer(asdict(result)).data)


class CampaignListView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = s.CampaignItemSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        query = validated_query(s.CampaignListQuerySerializer, self.request.query_params)
        return selectors.campaign_list(status=query.get("status"), project_id=query.get("project"))

    @extend_schema(
        operation_id="euro_campaigns_list",
        parameters=[s.CampaignListQuerySerializer],
        tags=["EUR campaigns"],
        summary="Campaigns, open ones by default (cursor pagination, newest first)",
        responses={200: s.CampaignItemSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CampaignDetailView(MemberView):
    @extend_schema(
        operation_id="euro_campaigns_detail",
        responses={200: s.CampaignSerializer, **ERRORS},
        tags=["EUR campaigns"],
        summary="A campaign: goal, deadline, status, pledges by status",
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        return Response(
            s.CampaignSerializer(selectors.campaign_summary(campaign_id=campaign_id)).data
        )


# --- payment provider ---------------------------------------------------------------------------

WEBHOOK_RESPONSES: dict[int, Any] = {
    200: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Processed (booked or ignored), or a replay of a processed event "
        "(header Idempotent-Replayed: true) with its original body.",
    ),
    400: ErrorSerializer,
    404: ErrorSerializer,
    409: ErrorSerializer,
    503: ErrorSerializer,
}


class PaymentWebhookView(APIView):
    """Public, CSRF-exempt (``APIView``), unauthenticated: the signature is the credential.
    The signature covers the raw body, so the body is read raw, never parsed by DRF first.
    One class for every provider: a subclass names its ``provider`` (``providers.PROVIDERS``)
    and documents its signature header."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes = [JSONParser]  # documents the content type; request.data is never read
    provider = "stripe"

    @extend_schema(
        operation_id="webhooks_payments",
        request={"application/json": OpenApiTypes.OBJECT},
        responses=WEBHOOK_RESPONSES,
        parameters=[
            OpenApiParameter(
                name=stripe.SIGNATURE_HEADER,
                location=OpenApiParameter.HEADER,
                required=True,
                type=str,
                description='t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">',
            )
        ],
        auth=[],
        tags=["Payment provider"],
        summary="Payment webhook (Stripe-style signed events; deposits)",
    )
    def post(self, request: Request) -> Response:
        try:
            payload = request._request.body
        except (RequestDataTooBig, RawPostDataException) as exc:
            raise InvalidEvent("The body is too large or unreadable.", reason="body") from exc
        header = provider_get(name=self.provider).signature_header
        outcome = webhooks.payment_webhook_handle(
            payload=payload, signature=request.headers.get(header), provider=self.provider
        )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return Response(outcome.body, status=status.HTTP_200_OK, headers=headers)


class HelloAssoWebhookView(PaymentWebhookView):
    provider = "helloasso"

    @extend_schema(
        operation_id="webhooks_helloasso",
        request={"application/json": OpenApiTypes.OBJECT},
        responses=WEBHOOK_RESPONSES,
        parameters=[
            OpenApiParameter(
                name=helloasso.SIGNATURE_HEADER,
                location=OpenApiParameter.HEADER,
                required=True,
                type=str,
                description="<hex HMAC-SHA256 of the raw body>",
            )
        ],
        auth=[],
        tags=["Payment provider"],
        summary="HelloAsso webhook (signed payment notifications; deposits)",
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


# --- staff: campaigns, settlement, refunds ------------------------------------------------------


class StaffCampaignCreateView(StaffView):
    staff_permissions = {"POST": roles.MANAGE_CAMPAIGNS}

    @extend_schema(
        operation_id="staff_euro_campaigns_create",
        request=s.CampaignCreateInSerializer,
        responses={201: s.CampaignSerializer, **ERRORS},
        tags=STAFF_TAG,
        summary="Open a campaign for a project (one open per project)",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.CampaignCreateInSerializer, request.data)
        campaign = campaigns.campaign_create(created_by_id=member_id_of(request), **data)
        view = selectors.campaign_summary(campaign_id=campaign.pk)
        return Response(s.CampaignSerializer(view).data, status=status.HTTP_201_CREATED)


class StaffCampaignStatusView(StaffView):
    staff_permissions = {"POST": roles.MANAGE_CAMPAIGNS}

    @extend_schema(
        operation_id="staff_euro_campaigns_status",
        request=s.CampaignStatusInSerializer,
        responses={200: s.CampaignSerializer, **ERRORS},
        tags=STAFF_TAG,
        summary="Close a campaign as succeeded, failed or cancelled",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        data = validated(s.CampaignStatusInSerializer, request.data)
        campaign = campaigns.campaign_set_status(
            campaign_id=campaign_id, actor_id=member_id_of(request), **data
        )
        return Response(
            s.CampaignSerializer(selectors.campaign_summary(campaign_id=campaign.pk)).data
        )


class StaffSettlementView(StaffView):
    staff_permissions = {"GET": roles.VIEW, "POST": roles.SETTLE_CAMPAIGNS}

    @extend_schema(
        operation_id="staff_euro_settlement_detail",
        responses={200: s.SettlementSerializer, **ERRORS},
        tags=STAFF_TAG,
        summary="A campaign's settlement: status, totals, its chunks (pending, leased, done) "
        "and leases, stalled or not",
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        run = selectors.settlement_get(campaign_id=campaign_id)
        return Response(
            s.SettlementSerializer(selectors.settlement_summary(run, progress=True)).data
        )

    @extend_schema(
        operation_id="staff_euro_settlement_start",
        request=s.SettlementStartInSerializer,
        responses={202: s.SettlementSerializer, 200: s.SettlementSerializer, **ERRORS},
        tags=STAFF_TAG,
        summary="Settle a closed campaign: open its settlement and send workers (202, "
        "Location: the settlement), resume it when stalled (202), or return it as it is (200)",
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        data = validated(s.SettlementStartInSerializer, request.data)
        run, _, sent = settlement_request(
            campaign_id=campaign_id,
            as_of=data["as_of"],
            trigger=Trigger.API,
            triggered_by_id=member_id_of(request),
            chunk_size=data["chunk_size"],
        )
        return Response(
            s.SettlementSerializer(selectors.settlement_summary(run, progress=True)).data,
            status=status.HTTP_202_ACCEPTED if sent else status.HTTP_200_OK,
            headers={
                "Location": reverse(
                    "saka_api:staff-euro-settlement", kwargs={"campaign_id": run.campaign_id}
                )
            },
        )


class StaffPledgeRefundView(StaffView):
    staff_permissions = {"POST": roles.REFUND_PLEDGES}

    @extend_schema(
        operation_id="staff_euro_pledges_refund",
        request=None,
        responses={200: s.PledgeOutSerializer, **ERRORS},
        tags=STAFF_TAG,
        summary="Refund one held pledge to its member (dispute, chargeback)",
    )
    def post(self, request: Request, pledge_id: int) -> Response:
        result = pledges.pledge_refund(pledge_id=pledge_id, actor_id=member_id_of(request))
        return Response(s.PledgeOutSerializer(asdict(result)).data)
