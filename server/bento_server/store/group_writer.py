"""SQLite's writer that commits in groups.

SQLite has one write lock per database. With each mutation in a transaction
of its own, writers on the store's threads queue for that lock, and the one
holding it wins the interpreter back from them a score of times per
transaction; every transaction also pays its own BEGIN, COMMIT and sync.

Here one thread runs the mutations of every caller back to back: it takes
the callers that queued while it was busy, runs each one's work in its own
savepoint of one transaction (so one failure fails only its caller), and
commits them together. A caller's future is settled only once the COMMIT
that holds its work returned: no answer is sent before its commit.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import peewee

from bento_server.store.database import Store

# Callers whose work one transaction holds at most: past this a group's
# first caller would wait on too many others' work.
MAX_GROUP = 32


@dataclass(frozen=True)
class _Job:
    work: Callable[[], Any]
    future: Future[Any]


class TransactionAborted(peewee.OperationalError):
    """SQLite rolled the group's whole transaction back (a full disk, an I/O
    error): the work of the callers before it is gone with it."""


class GroupWriter:
    """Runs write work on one thread, several callers' per transaction."""

    def __init__(self, store: Store, max_group: int = MAX_GROUP) -> None:
        assert not store.is_postgres, "PostgreSQL commits concurrent transactions in groups itself"
        self._store = store
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="bento-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[], Any]) -> Future[Any]:
        """``work``'s result once the transaction that holds it committed."""
        future: Future[Any] = Future()
        self._queue.put(_Job(work, future))
        return future

    def close(self) -> None:
        """Finishes what is queued, then stops the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        waiting: list[_Job] = []
        while True:
            if not waiting:
                job = self._queue.get()
                if job is None:
                    return
                waiting.append(job)
            while len(waiting) < self._max_group:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._queue.put(None)  # stop once this group is done
                    break
                waiting.append(job)
            waiting = self._run_group(waiting)

    def _run_group(self, jobs: list[_Job]) -> list[_Job]:
        """Runs ``jobs`` in one transaction; answers those it did not get to."""
        done: list[tuple[_Job, bool, Any]] = []
        left: list[_Job] = []
        try:
            with self._store.group():
                for index, job in enumerate(jobs):
                    if not job.future.set_running_or_notify_cancel():
                        continue
                    try:
                        done.append((job, True, self._store.part_of_group(job.work)))
                    except BaseException as error:  # the caller's to see
                        done.append((job, False, error))
                    if not self._store.db.connection().in_transaction:
                        left = jobs[index + 1 :]
                        raise TransactionAborted("the transaction was rolled back")
        except BaseException as error:
            # Nothing this group ran is stored: every caller that ran in it
            # fails; those it did not get to run in the next group.
            for job, _, _ in done:
                job.future.set_exception(error)
            return left
        for job, succeeded, outcome in done:
            if succeeded:
                job.future.set_result(outcome)
            else:
                job.future.set_exception(outcome)
        return []
