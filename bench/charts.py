"""The charts BENCHMARKS.md shows beside its tables, drawn with matplotlib.

Two pictures: how each measure's ratio to its baseline holds as the store
grows (the growth table), and where the speed targets stand against the
figures measured before the work on them (``BEFORE``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib import ticker
from matplotlib.figure import Figure

from bench import scale


@dataclass(frozen=True)
class Compared:
    """One target: the figure before the speed work, now, and the target."""

    label: str
    before: float | None
    now: float | None
    target: float
    higher_is_better: bool = True


# Measured before the speed work (the issue that set the targets: server and
# client on separate cores, ratios to the health Check in the same run).
# None where that measure was not taken then.
BEFORE = {
    ("SQLite", "CheckAccess, any user"): 0.52,
    ("SQLite", "GetSubscription, any"): 0.19,
    ("SQLite", "create → pay flow"): 0.018,
    ("PostgreSQL", "create → pay flow"): 0.012,
    ("SQLite", "renewals/s"): 156.0,
    ("PostgreSQL", "renewals/s"): 60.0,
    ("SQLite", "delivery p99 ms"): 750.0,
}
TARGETS = {
    "CheckAccess, any user": 0.7,
    "GetSubscription, any": 0.5,
    ("SQLite", "create → pay flow"): 0.06,
    ("PostgreSQL", "create → pay flow"): 0.04,
    # 100,000 due renewals in 50 s at most.
    ("SQLite", "renewals/s"): 2000.0,
    ("PostgreSQL", "renewals/s"): 800.0,
    "delivery p99 ms": 50.0,
}


def target_of(store: str, measure: str) -> float:
    return TARGETS.get((store, measure)) or TARGETS[measure]  # type: ignore[no-any-return]


def growth(scale_rows: list[tuple[str, list[scale.Step]]], path: Path) -> None:
    """Each measure's ratio to the baseline at every size, a panel per store."""
    # Figure rather than pyplot: no global state, no display backend.
    figure = Figure(figsize=(6 * len(scale_rows), 4.2))
    panels = figure.subplots(1, len(scale_rows), squeeze=False, sharey=True)
    for panel, (store, steps) in zip(panels[0], scale_rows, strict=True):
        sizes = [step.subscriptions for step in steps]
        for label in scale.MEASURES[1:]:
            ratios = [step.rates[label].ratio(step.rates[scale.MEASURES[0]]) for step in steps]
            panel.plot(sizes, ratios, marker="o", label=label)
        panel.set_xscale("log")
        panel.set_xticks(sizes, [f"{size:,}" for size in sizes])
        panel.xaxis.set_minor_locator(ticker.NullLocator())
        _log_scale(panel)  # the flows' ratios are a tenth of the reads
        panel.set_title(store)
        panel.set_xlabel("subscriptions in the store")
        panel.grid(True, alpha=0.3)
    panels[0][0].set_ylabel("rate / health Check rate (same run)")
    panels[0][-1].legend(fontsize="small")
    figure.suptitle("Growth: the ratio to the baseline as the store grows")
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def before_after(compared: list[Compared], path: Path) -> None:
    """Before, now and target of each measure, a panel per unit."""
    renewal = [c for c in compared if c.label.endswith("renewals/s")]
    delivery = [c for c in compared if c.label.endswith(" ms")]
    ratios = [c for c in compared if c not in renewal and c not in delivery]
    units = [
        ("ratio to the health Check", ratios),
        ("renewals per second", renewal),
        ("delivery p99, ms (lower is better)", delivery),
    ]
    widths = [max(len(items), 1) * 1.6 + 1 for _, items in units]
    figure = Figure(figsize=(sum(widths), 4.6))
    panels = figure.subplots(1, len(units), gridspec_kw={"width_ratios": widths})
    for panel, (unit, items) in zip(panels, units, strict=True):
        positions = range(len(items))
        before = [c.before or 0.0 for c in items]
        now = [c.now or 0.0 for c in items]
        panel.bar([p - 0.2 for p in positions], before, width=0.4, label="before", color="#bbbbbb")
        panel.bar([p + 0.2 for p in positions], now, width=0.4, label="now", color="#3a7bd5")
        for p, c in zip(positions, items, strict=True):
            panel.hlines(c.target, p - 0.45, p + 0.45, colors="#d62728", linestyles="dashed")
            if c.before is None:
                panel.annotate(
                    "n/a",
                    (p - 0.2, 0.01),
                    xycoords=("data", "axes fraction"),
                    ha="center",
                    fontsize="x-small",
                )
        panel.set_xticks(
            list(positions), [c.label for c in items], rotation=30, ha="right", fontsize="small"
        )
        panel.set_title(unit, fontsize="medium")
        panel.grid(True, axis="y", alpha=0.3)
        if unit != "renewals per second":
            # Ratios from 0.01 to 1, and latencies from tens of ms to seconds.
            _log_scale(panel)
    panels[0].plot([], [], color="#d62728", linestyle="dashed", label="target")
    panels[0].legend(fontsize="small")
    figure.suptitle("Speed targets: before the work, now, and the target")
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def _log_scale(panel: Any) -> None:
    """A logarithmic y axis labelled 0.01, 0.02, 0.05, 0.1 ... in plain numbers."""
    panel.set_yscale("log")
    panel.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    panel.yaxis.set_major_formatter(ticker.FuncFormatter(lambda value, _: f"{value:g}"))
    panel.yaxis.set_minor_formatter(ticker.NullFormatter())
