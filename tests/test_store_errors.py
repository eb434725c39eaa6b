"""Database errors are told apart by the codes the databases give: each
provoked for real on both stores, and what the caller then gets."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import peewee
import psycopg2
import pytest

from bento_server.errors import BentoError
from bento_server.services.status import from_exception
from bento_server.store.database import open_database
from bento_server.store.errors import Failure, classify


@dataclass
class Probe:
    """A database with a table of its own, through Peewee as the server
    opens it, and a way to open a second, raw connection to it."""

    url: str
    db: peewee.Database

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.db, peewee.PostgresqlDatabase)

    def other(self) -> Any:
        """Another connection, in autocommit, straight from the driver."""
        if self.is_postgres:
            connection = psycopg2.connect(self.url)
            connection.autocommit = True
            return connection
        return sqlite3.connect(self.url[len("sqlite:///") :], isolation_level=None, timeout=0)


@pytest.fixture
def probe(fresh_backend_url: str) -> Iterator[Probe]:
    db = open_database(fresh_backend_url)
    db.connect()
    db.execute_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    db.execute_sql(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id))"
    )
    db.execute_sql("INSERT INTO parent (id, n) VALUES (1, 0)")
    yield Probe(fresh_backend_url, db)
    db.close()


def raised(run: Callable[[], object]) -> BaseException:
    with pytest.raises(Exception) as info:
        run()
    return info.value


def answer(error: BaseException) -> tuple[str, str]:
    assert isinstance(error, Exception)
    refused: BentoError = from_exception(error, "/bento.v1.Probe/Run")
    return refused.code, refused.reason


ABORTED = ("ABORTED", "concurrent_modification")
UNAVAILABLE = ("UNAVAILABLE", "store_unavailable")
INTERNAL = ("INTERNAL", "internal")


def test_a_unique_violation_is_an_integrity_failure(probe: Probe) -> None:
    error = raised(lambda: probe.db.execute_sql("INSERT INTO parent (id, n) VALUES (1, 1)"))
    assert isinstance(error, peewee.IntegrityError)
    assert classify(error) is Failure.INTEGRITY and not Failure.INTEGRITY.retryable
    assert answer(error) == ABORTED


def test_a_foreign_key_violation_is_an_integrity_failure(probe: Probe) -> None:
    error = raised(lambda: probe.db.execute_sql("INSERT INTO child (id, parent_id) VALUES (1, 9)"))
    assert classify(error) is Failure.INTEGRITY
    assert answer(error) == ABORTED


def test_another_constraint_is_a_bug(probe: Probe) -> None:
    error = raised(lambda: probe.db.execute_sql("INSERT INTO parent (id, n) VALUES (2, NULL)"))
    assert isinstance(error, peewee.IntegrityError)
    assert classify(error) is Failure.OTHER
    assert answer(error) == INTERNAL


def test_a_statement_the_database_refuses_is_a_bug(probe: Probe) -> None:
    error = raised(lambda: probe.db.execute_sql("SELECT * FROM no_such_table"))
    assert classify(error) is Failure.OTHER
    assert answer(error) == INTERNAL


def test_a_write_locked_out_is_retryable(probe: Probe) -> None:
    """SQLite: another connection holds the write lock past the busy
    timeout (SQLITE_BUSY). PostgreSQL: another holds the row past the lock
    timeout (55P03)."""
    holder = probe.other()
    try:
        if probe.is_postgres:
            holder.autocommit = False
            holder.cursor().execute("SELECT n FROM parent WHERE id = 1 FOR UPDATE")
            probe.db.execute_sql("SET lock_timeout = '50ms'")
        else:
            holder.execute("BEGIN IMMEDIATE")
            probe.db.execute_sql("PRAGMA busy_timeout = 0")

        def write() -> None:
            with probe.db.atomic():
                probe.db.execute_sql("UPDATE parent SET n = n + 1 WHERE id = 1")

        error = raised(write)
    finally:
        if probe.is_postgres:
            holder.rollback()
        else:
            holder.execute("ROLLBACK")
        holder.close()
    assert classify(error) is Failure.UNAVAILABLE and Failure.UNAVAILABLE.retryable
    assert answer(error) == UNAVAILABLE


def test_a_lost_race_is_a_conflict(probe: Probe) -> None:
    """PostgreSQL: a repeatable-read transaction updates a row another
    committed meanwhile (40001, which psycopg2 raises unwrapped by Peewee).
    SQLite: a read transaction that would write after another connection
    committed a write (SQLITE_BUSY_SNAPSHOT), which waits for nothing."""
    other = probe.other()
    try:
        if probe.is_postgres:
            probe.db.execute_sql(
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ"
            )

        def race() -> None:
            with probe.db.atomic():
                probe.db.execute_sql("SELECT n FROM parent WHERE id = 1").fetchall()
                other.cursor().execute("UPDATE parent SET n = n + 1 WHERE id = 1")
                probe.db.execute_sql("UPDATE parent SET n = n + 10 WHERE id = 1")

        error = raised(race)
    finally:
        other.close()
    if probe.is_postgres:
        assert classify(error) is Failure.CONFLICT and Failure.CONFLICT.retryable
        assert answer(error) == ABORTED
    else:
        # SQLite tells this race by no code of its own apart from a busy
        # database: the caller retries later either way.
        assert classify(error) is Failure.UNAVAILABLE
        assert answer(error) == UNAVAILABLE


def test_a_deadlock_is_a_conflict(probe: Probe) -> None:
    """PostgreSQL: two transactions each wait for the other's row (40P01)."""
    if not probe.is_postgres:
        pytest.skip("SQLite has one writer at a time: no deadlock")
    probe.db.execute_sql("INSERT INTO parent (id, n) VALUES (2, 0)")
    other = probe.other()
    other.autocommit = False
    holding = threading.Event()
    failures: list[BaseException] = []

    def theirs() -> None:
        try:
            cursor = other.cursor()
            cursor.execute("UPDATE parent SET n = 1 WHERE id = 2")
            holding.set()
            cursor.execute("UPDATE parent SET n = 1 WHERE id = 1")
            other.commit()
        except psycopg2.Error as error:
            failures.append(error)
            other.rollback()

    def ours() -> None:
        with probe.db.atomic():
            probe.db.execute_sql("UPDATE parent SET n = 2 WHERE id = 1")
            thread.start()
            assert holding.wait(10)
            probe.db.execute_sql("UPDATE parent SET n = 2 WHERE id = 2")

    thread = threading.Thread(target=theirs)
    try:
        ours()
    except Exception as error:  # whichever the database picks loses
        failures.append(error)
    thread.join(30)
    other.close()
    assert len(failures) == 1, failures
    assert classify(failures[0]) is Failure.CONFLICT
    assert answer(failures[0]) == ABORTED


def test_a_statement_timeout_is_retryable(probe: Probe) -> None:
    if not probe.is_postgres:
        pytest.skip("SQLite has no statement timeout")
    probe.db.execute_sql("SET statement_timeout = '20ms'")
    error = raised(lambda: probe.db.execute_sql("SELECT pg_sleep(5)"))
    assert classify(error) is Failure.UNAVAILABLE
    assert answer(error) == UNAVAILABLE


def test_a_connection_ended_by_the_server_is_retryable(probe: Probe) -> None:
    if not probe.is_postgres:
        pytest.skip("an SQLite connection is a file")

    def read() -> None:
        # In a transaction, so that Peewee does not reconnect and send it again.
        with probe.db.atomic():
            pid = probe.db.execute_sql("SELECT pg_backend_pid()").fetchone()[0]
            killer = probe.other()
            # Waits until the session has ended.
            killer.cursor().execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            killer.close()
            probe.db.execute_sql("SELECT 1")

    error = raised(read)
    assert classify(error) is Failure.UNAVAILABLE
    assert answer(error) == UNAVAILABLE
