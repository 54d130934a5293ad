"""Tests of the EUR endpoints (saka.api.euro)."""
