"""Tests of the EUR services (saka.euro.services): pockets and pledges."""
