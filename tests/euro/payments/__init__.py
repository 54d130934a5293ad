"""Tests of the payments (saka.euro.payments): webhooks and the deposits they book."""
