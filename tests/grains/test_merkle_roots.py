"""The Merkle tree's two ways to a root: pairing a chunk's leaves level by level (the apply
chunks) and the streaming stack (reconcile, the hash step) give the same tree. No database."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from saka.grains.merkle import leaf_hash, merkle_root, preimages_root
from saka.grains.run_statements import preimages


@given(st.lists(st.integers(min_value=1, max_value=10**12), max_size=70))
def test_the_root_by_levels_is_the_streaming_root(amounts):
    # given any leaves, then pairing by levels gives the streaming tree's root
    pairs = [(i + 1, x) for i, x in enumerate(amounts)]
    expected = merkle_root(leaf_hash(a, x) for a, x in pairs)
    assert preimages_root(preimages(pairs)) == expected
