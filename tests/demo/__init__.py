"""Tests of the demo app (saka.demo): the seeded population and its command."""
