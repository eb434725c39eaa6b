"""The billing clock: runs the work that has fallen due, in due-time order.

Each kind of due work says when its next piece falls due and does every
piece due at a given time. A sweep repeatedly takes the earliest due time
across the kinds and runs the kinds due then, in the order listed, until
nothing is due before ``until``. So a subscription whose clock crossed three
periods renews three times, in order, and a grace period that lapses before
the next renewal ends the subscription before it could renew. ``bento
tick`` runs one sweep; ``bento serve`` sweeps every few seconds; the test
clock sweeps up to its new time after every move.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from bento_server.infra import metrics
from bento_server.usecases import activation, billing_clock, events, features, idempotency
from bento_server.usecases.context import Deps

log = logging.getLogger("bento.scheduler")


@dataclass(frozen=True)
class DueWork:
    """One kind of work: when it next falls due, and doing what is due at a time."""

    name: str
    next_due: Callable[[Deps, set[str]], datetime | None]
    run: Callable[[Deps, datetime, set[str], int | None], int]


# In the order a sweep runs kinds due at the same instant: a lapse or an end
# before a renewal that would otherwise bill a subscription that just ended.
DUE_WORK: list[DueWork] = [
    DueWork("grace_lapse", billing_clock.next_grace_lapse, billing_clock.run_grace_lapses),
    DueWork("period_end", billing_clock.next_period_end, billing_clock.run_period_ends),
    DueWork("renewal", billing_clock.next_renewal, billing_clock.run_renewals),
    DueWork("usage_reset", features.next_reset_due, features.reset_usage),
    DueWork("activation_code_expiry", activation.next_expiry, activation.expire),
    DueWork("idempotency_key_expiry", idempotency.next_expiry, idempotency.prune),
    DueWork("event_retention", events.next_prune, events.prune),
]


def run_due(deps: Deps, until: datetime | None = None, budget: int | None = None) -> int:
    """Runs everything due up to ``until`` (default: now), earliest first.

    Returns how many pieces of work ran; stops after about ``budget`` pieces
    if one is given (the next sweep goes on). Pieces that fail are logged
    and skipped until the next sweep, so one bad row cannot stop the clock.
    """
    until = until or deps.clock.now()
    skip: set[str] = set()
    total = 0
    while True:
        dues = [(work, work.next_due(deps, skip)) for work in DUE_WORK]
        times = [at for _, at in dues if at is not None and at <= until]
        if not times:
            break
        at = min(times)
        done = 0
        for work, due in dues:
            if due is not None and due <= at:
                left = None if budget is None else max(budget - total - done, 0)
                failed_before = len(skip)
                done += work.run(deps, at, skip, left)
                if len(skip) > failed_before:
                    metrics.DUE_WORK_FAILURES.labels(work.name).inc(len(skip) - failed_before)
        total += done
        if budget is not None and total >= budget:
            break
        if done == 0:
            # Everything due now is held by another process, or failed.
            break
    if total:
        log.info("ran %d pieces of due work up to %s", total, until.isoformat())
    oldest = [
        at for at in (w.next_due(deps, skip) for w in DUE_WORK) if at is not None and at <= until
    ]
    lag = (until - min(oldest)).total_seconds() if oldest else 0.0
    metrics.SCHEDULER_LAG.set(lag)
    return total


async def run_forever(
    deps: Deps, interval: float, executor: Executor, on_work: Callable[[], None]
) -> None:
    """Sweeps every ``interval`` seconds until cancelled; ``on_work`` after
    a sweep that did something."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            if await loop.run_in_executor(executor, run_due, deps):
                on_work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler sweep failed; retrying next interval")
        await asyncio.sleep(interval)
