"""The bench's measures that open a store run, small, on SQLite.

`make bench` is not part of the suite: it takes minutes and wants a quiet
machine. Its measures that seed a store in the bench's own process and then
start servers broke once without a test noticing (a process holds one open
store, and a server's admin key is made in the process that starts it), so
each of them runs here once, on a few thousand subscriptions, for well
under a second of measuring. Nothing here judges a speed: it checks that
each measure ran and counted what it says it counts.
"""

from __future__ import annotations

from pathlib import Path

from bench import renewals, scale, statements
from bento_server.store.database import connect
from bento_server.store.migrations import migrate


def test_the_growth_measure_runs_and_measures_every_call(tmp_path: Path) -> None:
    size = scale.HOT_USERS + 200
    [step] = scale.run(f"sqlite:///{tmp_path / 'bench.db'}", tmp_path, [size], 0.3)
    assert step.subscriptions == size
    assert step.rates, "no call was measured"
    assert all(rate.per_second > 0 for rate in step.rates.values()), step.rates


def test_the_statement_counts_run_and_count_each_flow(tmp_path: Path) -> None:
    counted = statements.run(f"sqlite:///{tmp_path / 'bench.db'}", tmp_path)
    assert set(counted) == set(statements.FLOW_NAMES)
    assert all(flow.statements > 0 for flow in counted.values()), counted
    # The flow writes (two mutations); the reads commit nothing.
    flow, *reads = (counted[name] for name in statements.FLOW_NAMES)
    assert flow.commits >= 1, counted
    assert all(read.commits < 1 for read in reads), counted


def test_the_renewal_sweep_renews_every_subscription_due(tmp_path: Path) -> None:
    store = connect(f"sqlite:///{tmp_path / 'bench.db'}")
    try:
        migrate(store)
        result = renewals.run(store, count=300, seconds=30.0)
    finally:
        store.close()
    assert result.renewed == 300
    assert result.baseline_per_second > 0
    assert result.statements_per_renewal > 0 and 0 < result.commits_per_renewal < 1
