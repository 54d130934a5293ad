"""The staff dashboard's season simulator: the "Season simulator" panel's JSON endpoint (a
POST that writes nothing; session, ``view_staff_data`` and CSRF like every dashboard form),
a bounded simulation as the staff API's; refusals rendered as the API renders them."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from saka.core.errors import DomainError, ValidationError
from saka.dashboard.access import staff_view
from saka.grains.simulation.parameters import simulation_run

MAX_BODY = 4096
FIELDS = frozenset({"weeks", "seed", "synthetic", "compost_rate", "redistribution_rate"})


def _request(body: bytes) -> dict[str, Any]:
    """The panel's form as JSON: known fields only; an empty field keeps the rule in force."""
    if len(body) > MAX_BODY:
        raise ValidationError("The request body is too large.")
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("The request body must be JSON.") from exc
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(map(str, unknown))}.", fields=unknown)
    return {k: (None if v == "" else v) for k, v in data.items()}


@require_POST
@staff_view
def simulation(request: HttpRequest) -> JsonResponse:
    """The weekly series of a bounded simulation (at most 104 weeks, 100,000 wallets)."""
    try:
        data = _request(request.body)
        report = simulation_run(
            weeks=26 if data.get("weeks") is None else data["weeks"],
            synthetic_wallets=data.get("synthetic"),
            seed=1 if data.get("seed") is None else data["seed"],
            overrides={
                "compost_rate": data.get("compost_rate"),
                "redistribution_rate": data.get("redistribution_rate"),
            },
            bounded=True,
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.http_status)
    return JsonResponse(report.as_dict())
