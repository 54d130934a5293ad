"""The fuzzer's users, their tokens and a little data for it to find (scripts/fuzz.sh).

Run from the repository with the fuzz database in ``DATABASE_URL``, after ``migrate`` and
``saka_demo``. Idempotent. Prints one JSON object ``{role: token}`` on stdout (the
anonymous role has no token and is not listed).

Roles: ``member`` (a member with SAKA and EUR, a pocket and a held pledge), ``platform``
(the service account with ``grains.harvest_on_behalf``) and one staff user per staff group
(``run_operator``, ``campaign_settler``, ``saka_adjuster``, ``auditor``, ``poll_manager``,
``policy_maker``), and ``logout``, a member whose token only the log-out is fuzzed with. The
groups are
created by the project's migration when it has them; this script only creates a missing
group (empty), so it keeps working unchanged once the groups carry their permissions. Each
staff user is ``is_staff`` (today's staff ability) and in exactly one group.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group, Permission  # noqa: E402

STAFF_GROUPS = (
    "run_operator",
    "campaign_settler",
    "saka_adjuster",
    "auditor",
    "poll_manager",
    "policy_maker",
)
PASSWORD = "fuzz-password"  # noqa: S105 - a throw-away database


def issue_token(user: Any) -> str:
    """The API token of ``user``: the ONE place that knows the token model."""
    from rest_framework.authtoken.models import Token

    return str(Token.objects.get_or_create(user=user)[0].key)


def _user(username: str, **flags: Any) -> Any:
    user, _ = get_user_model().objects.get_or_create(username=username, defaults=flags)
    for name, value in flags.items():
        setattr(user, name, value)
    user.set_password(PASSWORD)
    user.save()
    return user


def _member_data(member: Any, platform: Any, staff: Any) -> None:
    """SAKA grains, EUR money (a signed deposit), a pocket, an open campaign, a held pledge,
    a dry compost run, an open poll: objects whose ids the fuzzer's boundary values (1, ...)
    can reach."""
    from saka.core.clock import now
    from saka.core.errors import DomainError
    from saka.euro.payments.webhooks import (
        PAYMENT_SUCCEEDED,
        payment_webhook_handle,
        signature_header,
    )
    from saka.euro.services.campaigns import campaign_create
    from saka.euro.services.pledges import pledge_create
    from saka.euro.services.pockets import pocket_create
    from saka.grains.runs.compost import compost_run_start
    from saka.grains.services import wallet_harvest
    from saka.projects.models import Project

    for reason in ("content_read", "invite_accepted", "invest_bonus"):
        try:
            wallet_harvest(member_id=member.pk, reason=reason, granted_by_id=platform.pk)
        except DomainError:
            pass  # daily limit on a second set-up the same day
    secret = os.environ.get("SAKA_PAYMENT_WEBHOOK_SECRET", "")
    if secret:
        event = {
            "id": f"evt_fuzz_{time.time_ns()}",
            "object": "event",
            "type": PAYMENT_SUCCEEDED,
            "created": int(time.time()),
            "data": {
                "object": {
                    "id": f"pi_fuzz_{time.time_ns()}",
                    "object": "payment_intent",
                    "amount": 50_000,
                    "currency": "eur",
                    "fee": 0,
                    "metadata": {"member_id": str(member.pk)},
                }
            },
        }
        payload = json.dumps(event).encode()
        header = signature_header(payload=payload, secret=secret, timestamp=int(time.time()))
        payment_webhook_handle(payload=payload, signature=header)
    try:
        pocket_create(member_id=member.pk, name="Holidays", percentage="10")
    except DomainError:
        pass
    project = Project.objects.order_by("id").first()
    if project is not None:
        try:
            campaign_create(
                project_id=project.pk,
                goal=100_000,
                deadline=now() + timedelta(days=30),
                created_by_id=staff.pk,
            )
        except DomainError:
            pass  # already open
        try:
            pledge_create(member_id=member.pk, project_id=project.pk, amount=1_000)
        except DomainError:
            pass
    compost_run_start(dry_run=True, triggered_by_id=staff.pk)
    from saka.polls.models import Poll
    from saka.polls.services import poll_create

    if not Poll.objects.exists():
        poll_create(
            actor_id=None,
            title="Which garden first?",
            method="quadratic",
            options=["north", "south", "orchard"],
            opens_at=now() - timedelta(days=1),
            closes_at=now() + timedelta(days=30),
        )


def main() -> None:
    tokens: dict[str, str] = {}
    member = _user("fuzz_member")
    tokens["member"] = issue_token(member)
    platform = _user("fuzz_platform")
    platform.user_permissions.add(
        Permission.objects.get(content_type__app_label="grains", codename="harvest_on_behalf")
    )
    tokens["platform"] = issue_token(platform)
    staff_users = []
    for name in STAFF_GROUPS:
        group, _ = Group.objects.get_or_create(name=name)
        user = _user(f"fuzz_{name}", is_staff=True)
        user.groups.set([group])
        staff_users.append(user)
        tokens[name] = issue_token(user)
    # the log-out's own user: logging out deletes the caller's token, so the operation is
    # fuzzed with a token no other role uses (scripts/fuzz.sh, role ``logout``)
    tokens["logout"] = issue_token(_user("fuzz_logout"))
    _member_data(member, platform, staff_users[0])
    json.dump(tokens, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
