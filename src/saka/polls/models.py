"""Polls, their options, members' votes and the ballots (points per option) of each vote."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class PollMethod(models.TextChoices):
    SINGLE = "single", "Single choice"
    QUADRATIC = "quadratic", "Quadratic"


class Poll(models.Model):
    id = models.BigAutoField(primary_key=True)
    title = models.CharField(max_length=200)
    method = models.CharField(max_length=16, choices=PollMethod.choices)
    max_points = models.PositiveIntegerField(default=100)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="polls_created",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")),
                name="polls_poll_closes_after_opening",
            ),
            models.CheckConstraint(
                condition=models.Q(max_points__gte=1), name="polls_poll_max_points_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(method__in=["single", "quadratic"]),
                name="polls_poll_method_known",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class PollOption(models.Model):
    id = models.BigAutoField(primary_key=True)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(max_length=200)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["poll_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["poll", "position"], name="polls_option_position"),
        ]

    def __str__(self) -> str:
        return self.label


class Vote(models.Model):
    """A member's current vote in a poll (one per member and poll; a re-vote replaces it).

    ``spent`` is the grains the current vote planted (0 without SAKA), ``weight`` its exact
    weight (``saka.polls.weights``); ``plant_entry_id``/``harvest_entry_id`` name the SAKA
    entries of the current vote (no database FK: polls never import grains; reconcile checks
    them)."""

    id = models.BigAutoField(primary_key=True)
    poll = models.ForeignKey(Poll, on_delete=models.PROTECT, related_name="votes")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="poll_votes"
    )
    intensity = models.PositiveSmallIntegerField(default=1)
    use_saka = models.BooleanField(default=True)
    spent = models.BigIntegerField(default=0)
    weight = models.DecimalField(max_digits=12, decimal_places=6)
    plant_entry_id = models.BigIntegerField(null=True, blank=True)
    harvest_entry_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poll", "member"], name="polls_vote_one_per_member"),
            models.CheckConstraint(
                condition=models.Q(intensity__gte=1) & models.Q(intensity__lte=5),
                name="polls_vote_intensity_1_5",
            ),
            models.CheckConstraint(
                condition=models.Q(spent__gte=0), name="polls_vote_spent_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(weight__gt=0), name="polls_vote_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"vote {self.pk} of member {self.member_id} in poll {self.poll_id}"


class Ballot(models.Model):
    id = models.BigAutoField(primary_key=True)
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="ballots")
    option = models.ForeignKey(PollOption, on_delete=models.PROTECT, related_name="ballots")
    points = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vote", "option"], name="polls_ballot_one_per_option"),
            models.CheckConstraint(
                condition=models.Q(points__gte=0), name="polls_ballot_points_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.points} points on option {self.option_id}"
