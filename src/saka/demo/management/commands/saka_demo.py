"""Demo data for the reference project: a few hundred members with a believable history.

Idempotent: members, projects and accounts that exist are kept; a member's history is made
only once (when their wallet does not exist yet). Deterministic (seeded).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandParser
from rest_framework.authtoken.models import Token

from saka.audit.roles import ROLES
from saka.core.clock import now
from saka.core.errors import DomainError
from saka.grains import services as grains
from saka.grains.conf import HARVEST_RULES
from saka.grains.models import AccountKind, SakaAccount
from saka.projects.models import Project
from saka.projects.services import project_create

PROJECT_TITLES = [
    "Community garden",
    "Repair café",
    "Solar co-op",
    "Neighbourhood library",
    "Bike kitchen",
    "Seed bank",
    "River clean-up",
    "Youth coding club",
    "Food bank van",
    "Tool library",
    "Urban beehives",
    "Local currency fair",
]


class Command(BaseCommand):
    help = "Create demo members, projects and SAKA history (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=300)
        parser.add_argument("--days", type=int, default=150, help="length of the history")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        rng = random.Random(options["seed"])
        members_wanted, days = options["members"], options["days"]

        admin, created = user_model.objects.get_or_create(
            username="admin",
            defaults={"is_staff": True, "is_superuser": True, "email": "admin@example.org"},
        )
        if created:
            admin.set_password("admin")
            admin.save()
        platform, created = user_model.objects.get_or_create(username="platform")
        if created:
            platform.set_password("platform")
            platform.save()
        platform.user_permissions.add(Permission.objects.get(codename="harvest_on_behalf"))
        Token.objects.get_or_create(user=platform)
        # one staff user per role (username and password: the role's name)
        for role in ROLES:
            staff, created = user_model.objects.get_or_create(
                username=role, defaults={"is_staff": True, "email": f"{role}@example.org"}
            )
            if created:
                staff.set_password(role)
                staff.save()
            staff.groups.add(Group.objects.get(name=role))

        password = make_password("demo")
        names = [f"member{i:03d}" for i in range(1, members_wanted + 1)]
        existing = set(
            user_model.objects.filter(username__in=names).values_list("username", flat=True)
        )
        user_model.objects.bulk_create(
            [
                user_model(username=n, password=password, email=f"{n}@example.org")
                for n in names
                if n not in existing
            ]
        )
        members = list(user_model.objects.filter(username__in=names).order_by("username"))

        projects = list(Project.objects.order_by("id"))
        projects += [
            project_create(owner_id=rng.choice(members).pk, title=title)
            for title in PROJECT_TITLES[len(projects) :]
        ]

        with_history = set(
            SakaAccount.objects.filter(kind=AccountKind.WALLET, member__in=members).values_list(
                "member_id", flat=True
            )
        )
        todo = [m for m in members if m.pk not in with_history]
        today = now().replace(hour=9, minute=0, second=0, microsecond=0)
        booked = 0
        for n, member in enumerate(todo, 1):
            booked += self._history(member.pk, projects, rng, today, days, admin.pk)
            if n % 50 == 0 or n == len(todo):
                self.stdout.write(f"  history: {n}/{len(todo)} members, {booked} operations")
        self.stdout.write(
            self.style.SUCCESS(
                f"saka_demo: {len(members)} members ({len(todo)} new), {len(projects)} projects, "
                f"{booked} operations booked"
            )
        )

    def _history(
        self,
        member_id: int,
        projects: list[Project],
        rng: random.Random,
        today: Any,
        days: int,
        admin_id: int,
    ) -> int:
        # Profiles: regulars act until recently; dormant members stopped 95..150 days ago,
        # so the next compost run has something to do.
        dormant = rng.random() < 0.35
        last_day = rng.randint(95, days) if dormant else rng.randint(0, 30)
        first_day = min(days, last_day + rng.randint(10, 60))
        booked = 0
        for day in range(first_day, last_day - 1, -1):
            if rng.random() > 0.3:
                continue
            at = today - timedelta(days=day, minutes=rng.randint(0, 600))
            reason = rng.choice(list(HARVEST_RULES))
            for _ in range(rng.randint(1, 2)):
                try:
                    grains.wallet_harvest(member_id=member_id, reason=reason, as_of=at)
                    booked += 1
                except DomainError:
                    break
            if rng.random() < 0.25:
                try:
                    grains.project_boost(
                        member_id=member_id,
                        project_id=rng.choice(projects).pk,
                        amount=rng.choice([10, 10, 20, 50]),
                        as_of=at + timedelta(minutes=5),
                    )
                    booked += 1
                except DomainError:
                    pass
        if booked == 0:  # every demo member has a wallet: that is what makes a re-run a no-op
            grains.wallet_harvest(
                member_id=member_id, reason="content_read", as_of=today - timedelta(days=last_day)
            )
            booked += 1
        if rng.random() < 0.05:
            at = today - timedelta(days=last_day)
            grains.wallet_harvest(
                member_id=member_id,
                reason="manual_adjust",
                amount=rng.randint(1, 200),
                granted_by_id=admin_id,
                as_of=at,
            )
            booked += 1
        return booked
