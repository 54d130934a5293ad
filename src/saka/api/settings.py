"""What the API needs in the host project's settings, with its defaults: one home, used by the
reference project (``config/settings/base.py``) and by any project that embeds the apps
(``docs/embedding.md``).

- ``rest_framework(**overrides)``: the ``REST_FRAMEWORK`` dict (the ``{code, message, data}``
  exception handler, expiring tokens then sessions, JSON-only bodies, the throttle rates).
- ``spectacular(**overrides)``: the ``SPECTACULAR_SETTINGS`` dict (the schema's hooks, enum
  names, Swagger UI and ReDoc from the sidecar's static files).
- ``THROTTLE_RATES``: the default rate of each throttle scope; a scope the host's
  ``DEFAULT_THROTTLE_RATES`` does not name falls back to it (``saka.api.common.throttling``).

Read while Django's settings load, so it imports nothing of DRF, Django or the apps.
"""

from __future__ import annotations

from typing import Any

# Throttle scope -> default rate. member: a member's calls; platform: the service account's and
# staff's calls; login_*: log-in attempts (POST auth/token/), right or wrong, past either the
# answer is 429 login_locked_out.
THROTTLE_RATES: dict[str, str] = {
    "member": "120/min",
    "platform": "6000/min",
    "login_username": "10/hour",
    "login_address": "60/hour",
}

EXCEPTION_HANDLER = "saka.api.common.errors.exception_handler"
TOKEN_AUTHENTICATION = "saka.api.common.authentication.ExpiringTokenAuthentication"  # noqa: S105


def rest_framework(
    *, throttle_rates: dict[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """The ``REST_FRAMEWORK`` setting the API is built for; ``throttle_rates`` replaces some
    scopes' rates, ``overrides`` any other key (``NUM_PROXIES=1`` behind one proxy)."""
    settings: dict[str, Any] = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            # Token first: an anonymous request gets 401 with a WWW-Authenticate header.
            TOKEN_AUTHENTICATION,
            "rest_framework.authentication.SessionAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "EXCEPTION_HANDLER": EXCEPTION_HANDLER,
        "DEFAULT_THROTTLE_RATES": {**THROTTLE_RATES, **(throttle_rates or {})},
        # Writes take JSON only: a form or multipart body is 415 unsupported_media_type, so no
        # client reads an absent form field as a default (a missing checkbox is False in HTML).
        "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
        "DEFAULT_RENDERER_CLASSES": [
            "rest_framework.renderers.JSONRenderer",
            "rest_framework.renderers.BrowsableAPIRenderer",
        ],
        "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
        # The client address of the address throttles: REMOTE_ADDR, or behind N proxies the
        # Nth address from the right of X-Forwarded-For (never the whole header a client can
        # forge).
        "NUM_PROXIES": 0,
    }
    settings.update(overrides)
    return settings


def spectacular(**overrides: Any) -> dict[str, Any]:
    """The ``SPECTACULAR_SETTINGS`` of the API's schema; ``overrides`` replaces any key
    (``TITLE``, ``VERSION``...)."""
    settings: dict[str, Any] = {
        "TITLE": "SAKA wallets API",
        "DESCRIPTION": "SAKA grains (harvest, plant, compost, redistribution) and EUR wallets. "
        'Errors are {"code", "message", "data"}; clients branch on code.',
        "VERSION": "1.0.0",
        "SERVE_INCLUDE_SCHEMA": False,
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "COMPONENT_SPLIT_REQUEST": True,
        # The API's request bodies are JSON (a form cannot say true or 10 as JSON does): only
        # the JSON parser's media type is documented.
        "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
        # saka.api.common.schema: strict request bodies, bounded parameters, the error
        # statuses every request can meet (after drf-spectacular's own enum hook)
        "POSTPROCESSING_HOOKS": [
            "drf_spectacular.hooks.postprocess_schema_enums",
            "saka.api.common.schema.postprocess_schema",
        ],
        # the same field names (kind, status) mean different things in runs and pledges
        "ENUM_NAME_OVERRIDES": {
            "RunKindEnum": ["compost", "redistribution"],  # the API serializers use the values
            "RunStatusEnum": "saka.grains.models.RunStatus",  # = SettlementStatus's values
            "PledgeKindEnum": "saka.euro.models.PledgeKind",
            "PledgeStatusEnum": "saka.euro.models.PledgeStatus",
            "SettlementKindEnum": "saka.euro.models.SettlementKind",
            "SakaEntryKindEnum": "saka.grains.models.EntryKind",
            "EurEntryKindEnum": "saka.euro.models.EntryKind",
            "CampaignStatusEnum": "saka.euro.models.CampaignStatus",
            "HarvestReasonEnum": "saka.api.saka.serializers.HARVEST_REASONS",
        },
    }
    settings.update(overrides)
    return settings
