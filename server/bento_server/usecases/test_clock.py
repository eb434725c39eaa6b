"""The test clock of a server started with --test-clock: reading it, and
moving it forward with the work that fell due on the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bento_server.clock import TestClock
from bento_server.errors import FailedPrecondition, InvalidArgument
from bento_server.store.models import TestClockState
from bento_server.usecases.context import Deps

MAX_ADVANCE = timedelta(days=366 * 20)

Sweep = Callable[[Deps, datetime], int]
"""Runs the work due up to an instant; answers how much ran. Given by the
caller: the scheduler runs use cases, so a use case does not import it."""


def running(clock: TestClock | None) -> TestClock:
    """The server's test clock; FAILED_PRECONDITION if it runs on the wall clock."""
    if clock is None:
        raise FailedPrecondition(
            "the test clock is off: start the server with --test-clock", "test_clock_disabled"
        )
    return clock


@dataclass(frozen=True)
class Moved:
    now: datetime
    jobs_run: int


def advance(deps: Deps, clock: TestClock, seconds: int, to: datetime | None, sweep: Sweep) -> Moved:
    """Moves the clock ``seconds`` forward, or to ``to`` if set, and runs
    the work that fell due on the way (``sweep``).

    Run in the caller's transaction when it has one: with an
    idempotency-key the move and its due work commit with the key's
    record, so a retry never moves twice. Without one, each batch of due
    work commits on its own, so a long sweep never holds the write lock
    for long at a time."""
    # Measured from the clock inside the move, so a replay of a move
    # that was made answers from its record instead of failing here.
    now = clock.now()
    if to is None:
        target = now + timedelta(seconds=seconds)
    else:
        target = to
        if target <= now:
            raise InvalidArgument.field(
                "to", "must be after the current time; time never goes back"
            )
        if target - now > MAX_ADVANCE:
            raise InvalidArgument.field("to", "must be at most 20 years ahead")
    with deps.store.write():
        TestClockState.insert(id=1, now=target).on_conflict(
            conflict_target=[TestClockState.id], update={TestClockState.now: target}
        ).execute()
    clock.set(target)
    jobs = sweep(deps, target)
    return Moved(now=clock.now(), jobs_run=jobs)
