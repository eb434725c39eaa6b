"""What a running server holds: the store, the clock, the worker threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bento_server.clock import TestClock
from bento_server.usecases.context import Deps


@dataclass
class Runtime:
    """Shared by every servicer of one server."""

    deps: Deps
    # Store work runs on these threads, never on the event loop: a write on
    # SQLite may wait seconds for the lock, and streams share the loop.
    executor: ThreadPoolExecutor
    # Set when the server runs with --test-clock.
    test_clock: TestClock | None = None
    extra: dict[str, object] = field(default_factory=dict)
