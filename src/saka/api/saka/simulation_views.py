"""The season simulator's staff endpoint: a bounded simulation, answered synchronously (it
writes nothing); beyond the bounds, ``manage.py saka_simulate``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from saka.api.common.base import ERRORS, StaffView
from saka.api.common.errors import ErrorSerializer
from saka.api.common.validation import validated
from saka.api.saka.simulation_serializers import SimulationInSerializer, SimulationReportSerializer
from saka.audit import roles
from saka.grains.simulation.parameters import OVERRIDES, simulation_run


def simulation_of(data: dict[str, Any]) -> dict[str, Any]:
    """The report of a validated request (the API and the dashboard ask the same)."""
    report = simulation_run(
        weeks=data["weeks"],
        synthetic_wallets=data.get("synthetic"),
        seed=data.get("seed", 1),
        start=data.get("start"),
        overrides={name: data.get(name) for name in OVERRIDES},
        bounded=True,
    )
    return report.as_dict()


class StaffSimulationView(StaffView):
    staff_permissions = {"POST": roles.VIEW}

    @extend_schema(
        operation_id="staff_saka_simulations_run",
        request=SimulationInSerializer,
        responses={200: SimulationReportSerializer, 422: ErrorSerializer, **ERRORS},
        tags=["SAKA (staff)"],
        summary="Simulate weeks of compost and redistribution (at most 104 weeks and 100,000 "
        "wallets, else 422 simulation_too_large); writes nothing",
    )
    def post(self, request: Request) -> Response:
        data = validated(SimulationInSerializer, request.data)
        return Response(SimulationReportSerializer(simulation_of(data)).data)
