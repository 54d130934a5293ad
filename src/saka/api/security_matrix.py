"""The permission matrix of ``docs/security.md``, generated from the code: every staff
endpoint (the views' ``staff_permissions``), every admin action that names a staff permission,
the admin buttons and forms, and the commands, against the roles of ``saka.audit.roles``.

``python manage.py saka_permission_matrix`` prints it; a test checks the doc holds it as is.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import URLPattern, URLResolver

from saka.audit.roles import PERMISSIONS, ROLES

BEGIN = "<!-- permission-matrix:begin -->"
END = "<!-- permission-matrix:end -->"

# Admin pages that are not actions (their views check the same permission).
ADMIN_PAGES: list[tuple[str, str]] = [
    ("admin: runs, buttons *Dry run* and *Start live* (compost, redistribution)", "operate_runs"),
    ("admin: campaigns, add form", "manage_campaigns"),
    ("admin: seasons, add form", "manage_policy"),
    (
        "admin: runs, settlements, campaigns, seasons, audit records, alerts (lists)",
        "view_staff_data",
    ),
    # the staff dashboard (saka.dashboard, session log-in): its views check the same permission
    (
        "dashboard: `/dashboard/`, `runs/live.json`, `runs/{id}/wallets.csv`, "
        "`simulation.json` (POST, CSRF) (session)",
        "view_staff_data",
    ),
]
# Commands and scheduled tasks act as the system (actor ``None``): no role is checked.
SYSTEM: list[str] = [
    "`saka_compost`, `saka_redistribute`, `saka_settle`, `saka_alerts_check`, "
    "`saka_economy_snapshot`, `saka_simulate`, `saka_whatif`, `saka_statement_verify` commands",
    "beat schedule (compost, redistribution, `runs_resume`, alerts' checks, nightly reconcile, "
    "the dashboard's snapshot)",
]


def _walk(patterns: list[Any], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            out += _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            out.append((route, getattr(pattern.callback, "view_class", None)))
    return out


def staff_endpoints() -> list[tuple[str, str, str]]:
    """``(method, path, permission)`` of every staff endpoint of the API."""
    from saka.api import urls

    rows = []
    for route, view in _walk(urls.urlpatterns, "/api/"):
        for method, codename in sorted(getattr(view, "staff_permissions", {}).items()):
            rows.append((method, route, codename))
    return sorted(rows, key=lambda r: (r[1], r[0]))


def admin_actions() -> list[tuple[str, str]]:
    """``(label, permission)`` of every admin action that needs a staff permission."""
    rows = []
    for model, model_admin in admin.site._registry.items():
        for action in model_admin.actions or ():
            func = getattr(model_admin, action) if isinstance(action, str) else action
            for codename in getattr(func, "allowed_permissions", ()):
                if codename in PERMISSIONS:
                    label = f"admin: {model._meta.verbose_name_plural}, action *{func.__name__}*"
                    rows.append((label, codename))
    return sorted(rows)


def _cells(codename: str | None) -> str:
    ticks = ["✓" if codename in perms else "" for perms in ROLES.values()]
    return " | ".join([*ticks, "✓" if codename else ""])


def permission_matrix_markdown() -> str:
    head = ["What", "Permission", *ROLES, "superuser"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for method, route, codename in staff_endpoints():
        lines.append(f"| `{method} {route}` | `{codename}` | {_cells(codename)} |")
    for label, codename in [*admin_actions(), *ADMIN_PAGES]:
        lines.append(f"| {label} | `{codename}` | {_cells(codename)} |")
    blank = " | ".join([""] * (len(ROLES) + 1))
    lines.extend(f"| {label} | system (no actor) | {blank} |" for label in SYSTEM)
    return "\n".join(lines)
