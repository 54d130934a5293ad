"""Demo data for the reference project: a few hundred members with a believable history in
both currencies, so that every admin page and member endpoint has something to show.

SAKA (``saka.demo.history``): harvests, boosts, weekly composts and a redistribution that
pays, booked in time order; polls (``saka.demo.polls``): a quadratic poll boosted by SAKA and
a single-choice one, voted by a share of the members. EUR (``saka.demo.euro``): signed
webhook deposits, pockets, campaigns open, succeeded (settled) and failed (refunded), pledges
in every status.

Idempotent: members, projects and accounts that exist are kept; a member's SAKA history is
made only once (when their wallet does not exist yet); runs are asked for by period; the EUR
operations carry deterministic ids and idempotency keys. Deterministic (seeded).
"""

from __future__ import annotations

import random
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandParser
from django.test import override_settings
from rest_framework.authtoken.models import Token

from saka.audit.roles import ROLES
from saka.core.clock import now
from saka.demo.euro import euro_book
from saka.demo.history import history_book
from saka.demo.polls import polls_book
from saka.euro.conf import get_settings
from saka.euro.models import Campaign
from saka.grains.errors import SeasonOverlaps
from saka.grains.models import AccountKind, Run, RunKind, SakaAccount, Season
from saka.grains.seasons.services import season_activate, season_create
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
# signs the demo's deposits when SAKA_PAYMENT_WEBHOOK_SECRET is not set (``make demo`` sets it
# to this value, so that ``saka_webhook_send`` against its server is accepted)
DEMO_SEASON, DEMO_SEASON_SLUG = "Demo season", "demo-season"
DEMO_WEBHOOK_SECRET = "whsec_demo_not_a_secret"  # noqa: S105 - a public demo value


class Command(BaseCommand):
    help = "Create demo members, projects and SAKA history (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--members", type=int, default=300)
        parser.add_argument(
            "--days", type=int, default=260, help="the SAKA history reaches this far back"
        )
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
        todo = [m.pk for m in members if m.pk not in with_history]
        today = now().replace(second=0, microsecond=0)
        season = self._season(today, days, admin.pk)
        history = history_book(
            member_ids=todo,
            projects=[p.pk for p in projects],
            rng=rng,
            today=today,
            days=days,
            admin_id=admin.pk,
            log=self.stdout.write,
        )
        with self._webhook_secret():
            eur = euro_book(
                member_ids=[m.pk for m in members],
                project_ids=[p.pk for p in projects],
                staff_id=admin.pk,
                today=today,
                seed=options["seed"],
            )
        polls = polls_book(
            member_ids=[m.pk for m in members], staff_id=admin.pk, rng=rng, today=today
        )
        for refusal in eur.refused:
            self.stderr.write(f"  deposit refused: {refusal}")
        self.stdout.write(
            self.style.SUCCESS(
                f"saka_demo: {len(members)} members ({len(todo)} new), {len(projects)} projects, "
                f"{history.operations} SAKA operations, {len(history.runs)} runs "
                f"({self._runs(history.runs)}), {polls.votes} poll votes ({polls.spent} grains "
                f"spent), {eur.deposits} deposits booked, season "
                f"{season.name if season else '-'}, campaigns "
                + ", ".join(f"{c.pk} {c.status}" for c in _fresh(eur.campaigns))
            )
        )

    def _season(self, today: datetime, days: int, staff_id: int) -> Season | None:
        """One active season covering the demo's history and the next weeks, made before
        the runs (they link to it); kept as it is when the demo runs again."""
        found = Season.objects.filter(slug=DEMO_SEASON_SLUG).first()
        if found is not None:
            return found
        start = (today - timedelta(days=days + 1)).replace(hour=0, minute=0)
        try:
            season = season_create(
                name=DEMO_SEASON,
                starts_at=start,
                ends_at=today + timedelta(days=90),
                created_by_id=staff_id,
            )
        except SeasonOverlaps as exc:
            self.stderr.write(f"  season not created: {exc.message}")
            return None
        return season_activate(season_id=season.pk, actor_id=staff_id)

    def _webhook_secret(self) -> Any:
        """The demo's deposits are signed webhooks: without SAKA_PAYMENT_WEBHOOK_SECRET (``make
        demo`` sets one), sign and verify them with :data:`DEMO_WEBHOOK_SECRET`."""
        if get_settings().webhook_secret:
            return nullcontext()
        return override_settings(SAKA_PAYMENT_WEBHOOK_SECRET=DEMO_WEBHOOK_SECRET)

    def _runs(self, runs: list[Run]) -> str:
        paid = [r for r in runs if r.kind == RunKind.REDISTRIBUTION]
        return "; ".join(
            f"redistribution {r.period}: {r.outcome}, {r.per_wallet or 0} to {r.wallets_done}"
            for r in paid
        )


def _fresh(campaigns: list[Campaign]) -> list[Campaign]:
    return list(Campaign.objects.filter(pk__in=[c.pk for c in campaigns]).order_by("id"))
