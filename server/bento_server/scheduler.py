"""The billing clock: runs the work that has fallen due, in due-time order.

Each kind of due work is a function that does at most a small batch of what
is due at ``now`` in its own transactions and returns how much it did; the
scheduler calls the kinds until none has anything left. ``bento tick`` runs
one sweep, ``bento serve`` sweeps every few seconds, and the test clock runs
one sweep after every move.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bento_server.usecases import idempotency
from bento_server.usecases.context import Deps

log = logging.getLogger("bento.scheduler")


@dataclass(frozen=True)
class DueWork:
    """One kind of work: ``run(deps, now)`` does a batch and says how much."""

    name: str
    run: Callable[[Deps, datetime], int]


def _prune_idempotency_keys(deps: Deps, now: datetime) -> int:
    return idempotency.prune(deps)


# The kinds, in the order a sweep visits them.
DUE_WORK: list[DueWork] = [
    DueWork("idempotency_key_expiry", _prune_idempotency_keys),
]


def run_due(deps: Deps, now: datetime | None = None) -> int:
    """Runs every kind of work due at ``now`` until none is left; returns how much ran."""
    at = now or deps.clock.now()
    total = 0
    for work in DUE_WORK:
        while True:
            done = work.run(deps, at)
            total += done
            if done == 0:
                break
    if total:
        log.info("ran %d pieces of due work", total)
    return total


async def run_forever(deps: Deps, interval: float, executor: object) -> None:
    """Sweeps every ``interval`` seconds until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            await loop.run_in_executor(executor, run_due, deps)  # type: ignore[arg-type]
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduler sweep failed; retrying next interval")
        await asyncio.sleep(interval)
