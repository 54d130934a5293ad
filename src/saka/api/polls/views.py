"""Poll endpoints: thin, one service or selector call per request."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from saka.api.common.base import (
    ERRORS,
    IDEMPOTENCY_HEADER,
    MemberView,
    StaffView,
    idempotency_key_of,
    member_id_of,
    written,
)
from saka.api.common.pagination import NewestFirst
from saka.api.common.permissions import IsMember
from saka.api.common.throttling import MemberThrottle
from saka.api.common.validation import validated
from saka.api.polls import serializers as s
from saka.audit import roles
from saka.core.errors import NotFound
from saka.grains import votes
from saka.ledger.idempotency import replay_watch
from saka.polls import selectors
from saka.polls import services as poll_services

MEMBER_TAG = ["Polls"]
STAFF_TAG = ["Polls (staff)"]


class PollListView(generics.ListAPIView):
    permission_classes = [IsMember]
    throttle_classes = [MemberThrottle]
    serializer_class = s.PollSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        return selectors.poll_list()

    @extend_schema(
        operation_id="polls_list",
        tags=MEMBER_TAG,
        summary="Polls with their options (cursor pagination, newest first)",
        responses={200: s.PollSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class PollDetailView(MemberView):
    @extend_schema(
        operation_id="polls_detail",
        tags=MEMBER_TAG,
        summary="One poll with its options",
        responses={200: s.PollSerializer, **ERRORS},
    )
    def get(self, request: Request, poll_id: int) -> Response:
        return Response(s.PollSerializer(selectors.poll_get(poll_id=poll_id)).data)


class PollVoteView(MemberView):
    @extend_schema(
        operation_id="polls_vote",
        request=s.VoteInSerializer,
        responses={201: s.VoteOutSerializer, 200: s.VoteOutSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_HEADER],
        tags=MEMBER_TAG,
        summary="Vote (or re-vote) in a poll, spending grains for weight when SAKA voting is on; "
        "200 when it repeats my current vote (nothing booked)",
    )
    def post(self, request: Request, poll_id: int) -> Response:
        data = validated(s.VoteInSerializer, request.data)
        with replay_watch() as watch:
            result = votes.poll_vote(
                member_id=member_id_of(request),
                poll_id=poll_id,
                ballots=[dict(b) for b in data["ballots"]],
                intensity=data["intensity"],
                use_saka=data["use_saka"],
                idempotency_key=idempotency_key_of(request),
            )
        code = status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED
        return written(s.VoteOutSerializer(asdict(result)).data, watch, status_code=code)


class PollResultsView(MemberView):
    @extend_schema(
        operation_id="polls_results",
        tags=MEMBER_TAG,
        summary="A poll's results: per option Σ points * weight",
        responses={200: s.PollResultsSerializer, **ERRORS},
    )
    def get(self, request: Request, poll_id: int) -> Response:
        poll = selectors.poll_get(poll_id=poll_id)
        results = selectors.poll_results(poll_id=poll.pk)
        return Response(
            s.PollResultsSerializer(
                {"poll_id": poll.pk, "method": poll.method, "options": [asdict(r) for r in results]}
            ).data
        )


class MyPollVoteView(MemberView):
    @extend_schema(
        operation_id="polls_my_vote",
        tags=MEMBER_TAG,
        summary="My current vote in a poll (404 not_found when I have not voted)",
        responses={200: s.MyVoteSerializer, **ERRORS},
    )
    def get(self, request: Request, poll_id: int) -> Response:
        poll = selectors.poll_get(poll_id=poll_id)
        vote = selectors.vote_get(member_id=member_id_of(request), poll_id=poll.pk)
        if vote is None:
            raise NotFound("You have not voted in this poll.", poll_id=poll.pk)
        return Response(s.MyVoteSerializer(vote).data)


class StaffPollCreateView(StaffView):
    staff_permissions = {"POST": roles.MANAGE_POLLS}

    @extend_schema(
        operation_id="staff_polls_create",
        request=s.PollCreateInSerializer,
        responses={201: s.PollSerializer, **ERRORS},
        tags=STAFF_TAG,
        summary="Create a poll with its options",
    )
    def post(self, request: Request) -> Response:
        data = validated(s.PollCreateInSerializer, request.data)
        poll = poll_services.poll_create(actor_id=member_id_of(request), **data)
        return Response(
            s.PollSerializer(selectors.poll_get(poll_id=poll.pk)).data,
            status=status.HTTP_201_CREATED,
        )
