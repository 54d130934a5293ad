"""Tests of what every endpoint shares (saka.api.common): throttling."""
