"""Tests of the runs (saka.grains.runs): rules, reference model, periods, crashes, races."""
