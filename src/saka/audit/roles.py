"""The one table of staff roles: permissions, the roles (Django groups) that hold them, and
the staff actions (API endpoints, admin actions, services) that need each permission.

The API's permission class, the admin's actions and the services all ask
:func:`actor_allowed`; ``docs/security.md`` shows the same table (a test compares them).
A superuser has every permission; every actor also needs ``is_staff`` and ``is_active``.
An actor of ``None`` is the system (the beat schedule, a cron command): never refused.
"""

from __future__ import annotations

from typing import Any

APP_LABEL = "audit"

VIEW = "view_staff_data"
OPERATE_RUNS = "operate_runs"
MANAGE_CAMPAIGNS = "manage_campaigns"
SETTLE_CAMPAIGNS = "settle_campaigns"
REFUND_PLEDGES = "refund_pledges"
ADJUST_SAKA = "adjust_saka"
MANAGE_POLLS = "manage_polls"
MANAGE_POLICY = "manage_policy"

# codename -> description (Meta.permissions of AuditRecord)
PERMISSIONS: dict[str, str] = {
    VIEW: "Can read the staff views (runs, silo, stats, settlements, audit)",
    OPERATE_RUNS: "Can start dry and live compost/redistribution runs and resume them",
    MANAGE_CAMPAIGNS: "Can open campaigns and close them (status)",
    SETTLE_CAMPAIGNS: "Can start or resume a campaign's settlement",
    REFUND_PLEDGES: "Can refund a held pledge to its member",
    ADJUST_SAKA: "Can grant manual SAKA adjustments",
    MANAGE_POLLS: "Can create polls",
    MANAGE_POLICY: "Can change the compost and redistribution parameters and the seasons",
}

# group name -> its permissions (the names are fixed: tests and the fuzzer use them)
ROLES: dict[str, frozenset[str]] = {
    "run_operator": frozenset({OPERATE_RUNS, VIEW}),
    "campaign_settler": frozenset({MANAGE_CAMPAIGNS, SETTLE_CAMPAIGNS, REFUND_PLEDGES, VIEW}),
    "saka_adjuster": frozenset({ADJUST_SAKA}),
    "auditor": frozenset({VIEW}),
    "poll_manager": frozenset({MANAGE_POLLS, VIEW}),
    "policy_maker": frozenset({MANAGE_POLICY, VIEW}),
}

# staff action (the audit record's ``action``) -> the permission it needs
ACTIONS: dict[str, str] = {
    "saka.adjustment.grant": ADJUST_SAKA,
    "saka.run.dry": OPERATE_RUNS,
    "saka.run.live": OPERATE_RUNS,
    "saka.run.resume": OPERATE_RUNS,
    "euro.campaign.create": MANAGE_CAMPAIGNS,
    "euro.campaign.status": MANAGE_CAMPAIGNS,
    "euro.settlement.start": SETTLE_CAMPAIGNS,
    "euro.settlement.resume": SETTLE_CAMPAIGNS,
    "euro.pledge.refund": REFUND_PLEDGES,
    "polls.poll.create": MANAGE_POLLS,
    "saka.season.create": MANAGE_POLICY,
    "saka.season.activate": MANAGE_POLICY,
    "saka.season.deactivate": MANAGE_POLICY,
    "saka.policy.whatif": VIEW,
    "saka.policy.change": MANAGE_POLICY,
}
# A staff endpoint refused by the API's permission class (before any service ran).
ENDPOINT_ACTION = "staff.endpoint"


def perm_name(codename: str) -> str:
    """``audit.<codename>``, as ``user.has_perm`` wants it."""
    if codename not in PERMISSIONS:
        raise KeyError(f"unknown staff permission {codename!r}")
    return f"{APP_LABEL}.{codename}"


def actor_allowed(user: Any, codename: str) -> bool:
    """An active staff user holding ``codename`` (through a role, directly, or superuser)."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.is_staff
        and user.has_perm(perm_name(codename))
    )


def roles_of(codename: str) -> list[str]:
    return sorted(role for role, perms in ROLES.items() if codename in perms)


def roles_sync(*, using: str = "default", apps: Any = None) -> None:
    """Create the permissions and the groups, and set each group's permissions to exactly the
    table's (idempotent: a group edited by hand is put back)."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    content_type_model = apps.get_model("contenttypes", "ContentType")
    permission_model = apps.get_model("auth", "Permission")
    group_model = apps.get_model("auth", "Group")
    content_type, _ = content_type_model.objects.db_manager(using).get_or_create(
        app_label=APP_LABEL, model="auditrecord"
    )
    perms = {}
    for codename, name in PERMISSIONS.items():
        perm, _ = permission_model.objects.db_manager(using).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name}
        )
        perms[codename] = perm
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.db_manager(using).get_or_create(name=role)
        group.permissions.set([perms[c] for c in sorted(codenames)])
