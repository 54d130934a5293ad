"""Serializers of the verifiable run statements (``saka.grains.run_statements``)."""

from __future__ import annotations

from rest_framework import serializers


class RunStatementSerializer(serializers.Serializer):
    """A published statement: its place in the chain, its body (the figures that are hashed)
    and its hashes."""

    seq = serializers.IntegerField()
    run_id = serializers.IntegerField()
    kind = serializers.CharField()
    body = serializers.JSONField()
    merkle_root = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()
    created_at = serializers.DateTimeField()


class RunStatementStaffSerializer(RunStatementSerializer):
    chunks = serializers.JSONField(help_text="[lo, hi, count, total, root] of each chunk leaf.")


class StatementProofSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[
            "credited",
            "composted",
            "not_counted",
            "at_ceiling",
            "not_credited",
            "not_composted",
        ]
    )
    amount = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    parameters = serializers.JSONField()
    proof = serializers.JSONField(
        allow_null=True, help_text="Verify with sha256 alone: see docs/statements.md."
    )
