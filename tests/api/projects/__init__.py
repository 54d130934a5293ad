"""Tests of the project endpoints (saka.api.projects): list and boost."""
