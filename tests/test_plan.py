"""plan.py owns the needs graph: depths and waves, without recursion."""

from __future__ import annotations

import sys

from mergegate.plan import needs_depths, waves


def test_waves_group_gates_by_needs_hops_in_config_order() -> None:
    needs = {"lint": [], "unit": ["lint"], "docs": [], "e2e": ["unit", "docs"], "x": ["gone"]}
    assert waves(needs) == [["lint", "docs", "x"], ["unit"], ["e2e"]]


def test_a_chain_far_deeper_than_the_stack_is_no_recursion_error() -> None:
    count = sys.getrecursionlimit() * 3
    chain = {f"g{i}": [f"g{i - 1}"] if i else [] for i in range(count)}
    assert needs_depths(chain)[f"g{count - 1}"] == count - 1
    assert [w[0] for w in waves(chain)][-1] == f"g{count - 1}"
