"""PostgreSQL statements planned once per connection rather than per query.

The batched access read executes in a fraction of a millisecond, but
planning it costs two to three times as much, on every call. A prepared
statement with a generic plan skips the planner. PostgreSQL replans it by
itself when the tables' statistics or schema change.

Prepared statements and ``plan_cache_mode`` belong to one session, so a
``PreparedStatements`` is meant for a connection that runs nothing else: the
thread that owns it (peewee keeps a connection per thread) runs only these
statements. When that connection is replaced (a reconnect after a restart or
a failover) or the server forgot the statements (``DISCARD ALL``), they are
prepared again.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import peewee
from psycopg2 import errors


class PreparedStatements:
    """Named statements with ``$1``-style parameters, each given with the
    types of its parameters: ``{"name": ("text[], int", "SELECT ...")}``."""

    def __init__(self, db: peewee.Database, statements: dict[str, tuple[str, str]]) -> None:
        self._db = db
        self._statements = statements
        self._prepared = threading.local()

    def execute(self, name: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        placeholders = ", ".join(["%s"] * len(args))
        for attempt in (1, 2):
            self._prepare_once()
            try:
                return list(self._db.execute_sql(f"EXECUTE {name}({placeholders})", args))
            except peewee.DatabaseError as error:
                # Peewee wraps the driver's error and keeps it as ``orig``.
                forgotten = isinstance(getattr(error, "orig", None), errors.InvalidSqlStatementName)
                if not forgotten or attempt == 2:
                    raise
                # The statements are gone from this session: prepare again, once.
                self._prepared.connection = None
        raise AssertionError("unreachable")

    def _prepare_once(self) -> None:
        connection = self._db.connection()
        if getattr(self._prepared, "connection", None) is connection:
            return
        # A generic plan: PostgreSQL would otherwise keep planning each call
        # afresh, since an array's length is unknown until it is bound.
        self._db.execute_sql("SET plan_cache_mode = force_generic_plan")
        self._db.execute_sql("DEALLOCATE ALL")
        for name, (types, sql) in self._statements.items():
            self._db.execute_sql(f"PREPARE {name}({types}) AS {sql}")
        self._prepared.connection = connection
