"""Tests of the SAKA endpoints (saka.api.saka): wallet, history, plant, harvests, runs."""
