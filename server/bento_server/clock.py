"""Where Bento's time comes from. Nothing else reads the wall clock.

Every instant is an aware ``datetime`` in UTC.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """The current time."""

    def now(self) -> datetime:
        """Returns the current instant, in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class TestClock:
    """A clock that stands still until it is moved forward.

    Behind ``bento serve --test-clock``: tests cross trial ends and renewals by
    moving it with ``TestClockService.AdvanceTime``. It never goes back.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, to: datetime) -> None:
        """Moves the clock to ``to``; raises ValueError if that is the past."""
        with self._lock:
            if to < self._now:
                raise ValueError("the test clock never goes back")
            self._now = to.astimezone(UTC)
