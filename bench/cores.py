"""Keeping the bench's client off the server's core.

A ratio against the health Check says something about the server only if
the server is the bottleneck. With client and server free to share both
cores, the client (32 callers on one Python loop) runs out of CPU first and
squeezes every ratio toward 1. So on a machine with two cores or more the
server runs on core 0, with PostgreSQL beside it as on a one-box deployment,
and the client on core 1; every rate also reports the client's CPU, so a
reader can see that it had headroom.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

SERVER_CORE = 0
CLIENT_CORE = 1


def can_pin() -> bool:
    return (
        hasattr(os, "sched_setaffinity")
        and len(os.sched_getaffinity(0)) >= 2
        and shutil.which("taskset") is not None
    )


def server_command() -> tuple[str, ...]:
    """What to put before a server's command line to run it on the server's core."""
    return ("taskset", "-c", str(SERVER_CORE)) if can_pin() else ()


@contextlib.contextmanager
def on_core(core: int) -> Iterator[None]:
    """This process (every thread of it) on ``core`` for the block."""
    if not can_pin():
        yield
        return
    before = os.sched_getaffinity(0)
    _pin_all_threads({core})
    try:
        yield
    finally:
        _pin_all_threads(before)


def _pin_all_threads(cores: set[int]) -> None:
    # sched_setaffinity(0) moves only the calling thread; grpc's threads
    # already started must move too.
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(task.name), cores)


def pin_postgres(store_is_postgres: bool, data_directory: str | None) -> bool:
    """Puts the PostgreSQL server (its postmaster, so every backend forked
    later, and the processes it runs now) on the server's core. Needs the
    right to change another user's processes; returns whether it could."""
    if not store_is_postgres or not data_directory or not can_pin():
        return False
    try:
        pid = int(Path(data_directory, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    pids = [pid, *_children(pid)]
    for each in pids:
        done = subprocess.run(
            ["taskset", "-a", "-p", "-c", str(SERVER_CORE), str(each)],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0 and each == pid:
            return False
    return True


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            # The parent PID is the 4th field, after the ")" that ends the name.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


class ClientCpu:
    """The CPU this process used over a span, as a share of one core."""

    def __init__(self) -> None:
        self._cpu = 0.0
        self._wall = 0.0

    @contextlib.contextmanager
    def span(self) -> Iterator[None]:
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self._cpu += time.process_time() - cpu
            self._wall += time.perf_counter() - wall

    @property
    def share(self) -> float:
        return self._cpu / self._wall if self._wall else 0.0
