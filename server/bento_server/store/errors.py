"""What a database error means for the call that met it, by the codes the
databases give (PostgreSQL's SQLSTATE, SQLite's result codes), never by
the wording of a message, which changes between versions and locales.

Errors arrive as the driver raised them (reads through ``Store.fetch``,
psycopg2's errors that Peewee does not translate, such as a serialization
failure) or translated by Peewee, which keeps the driver's error as
``orig``; either way the driver's error is found and its code read.
"""

from __future__ import annotations

import enum
import sqlite3

import psycopg2

from bento_server.store.group_writer import TransactionAborted


class Failure(enum.Enum):
    CONFLICT = "conflict"
    """The transaction lost a race (a serialization failure, a deadlock):
    run it again."""
    UNAVAILABLE = "unavailable"
    """The database could not serve now (busy or locked, a lock or
    statement timeout, a lost connection, out of resources): try later."""
    INTEGRITY = "integrity"
    """A unique or foreign key constraint refused a write: another writer
    got there first, or took away what the write refers to."""
    OTHER = "other"
    """Anything else: a bug, or a database that needs an operator."""

    @property
    def retryable(self) -> bool:
        return self in (Failure.CONFLICT, Failure.UNAVAILABLE)


# PostgreSQL's SQLSTATE classes and codes (Appendix A of its manual).
_PG_CONFLICT_CLASSES = ("40",)  # transaction rollback: 40001 serialization, 40P01 deadlock
_PG_UNAVAILABLE_CLASSES = (
    "08",  # connection exception
    "53",  # insufficient resources: disk full, out of memory, too many connections
    "57",  # operator intervention: 57014 statement timeout, 57P01 shutdown ...
    "58",  # system error: I/O
)
_PG_UNAVAILABLE = frozenset({"55P03"})  # lock_not_available: a lock timeout or NOWAIT
_PG_INTEGRITY = frozenset({"23505", "23503"})  # unique_violation, foreign_key_violation

_SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_INTERRUPT,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)
_SQLITE_INTEGRITY = frozenset(
    {
        sqlite3.SQLITE_CONSTRAINT_UNIQUE,
        sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY,
        sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY,
    }
)


def classify(error: BaseException) -> Failure:
    """What ``error`` means for the call that met it."""
    seen: set[int] = set()
    at: BaseException | None = error
    while at is not None and id(at) not in seen:
        seen.add(id(at))
        if isinstance(at, psycopg2.Error):
            return _postgres(at)
        if isinstance(at, sqlite3.Error):
            return _sqlite(at)
        if isinstance(at, TransactionAborted | TimeoutError):
            # SQLite rolled a group's transaction back (its cause already
            # reached the caller that met it); a read on the loop's
            # connection that never answered.
            return Failure.UNAVAILABLE
        at = _wrapped(at)
    return Failure.OTHER


def _wrapped(error: BaseException) -> BaseException | None:
    """The error ``error`` stands for: the driver's that Peewee translated
    (its ``orig``), else its cause (``raise ... from``). Not what it was
    raised while handling: a bug in an ``except`` block is not the
    database's failure."""
    orig = getattr(error, "orig", None)
    if isinstance(orig, BaseException):
        return orig
    return error.__cause__


def _postgres(error: psycopg2.Error) -> Failure:
    code = error.pgcode
    if code is None:
        # The driver's own errors have no SQLSTATE: a connection that broke
        # or could not be made.
        if isinstance(error, psycopg2.OperationalError | psycopg2.InterfaceError):
            return Failure.UNAVAILABLE
        return Failure.OTHER
    if code.startswith(_PG_CONFLICT_CLASSES):
        return Failure.CONFLICT
    if code in _PG_UNAVAILABLE or code.startswith(_PG_UNAVAILABLE_CLASSES):
        return Failure.UNAVAILABLE
    if code in _PG_INTEGRITY:
        return Failure.INTEGRITY
    return Failure.OTHER


def _sqlite(error: sqlite3.Error) -> Failure:
    code = getattr(error, "sqlite_errorcode", None)
    if code is None:
        return Failure.OTHER  # raised by the module itself: a misuse
    if code in _SQLITE_INTEGRITY:
        return Failure.INTEGRITY
    if (code & 0xFF) in _SQLITE_UNAVAILABLE:  # a primary code, whatever its extension
        return Failure.UNAVAILABLE
    return Failure.OTHER
