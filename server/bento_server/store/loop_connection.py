"""A PostgreSQL connection the event loop drives itself, for the hot reads.

A read on a worker thread costs more than the read: the thread must take the
GIL from the busy event loop and hand its answer back through it, which
measured about 230 µs of server CPU per access check, more than twice what
PostgreSQL spends on it. psycopg2's asynchronous mode sends a query and lets
the loop wait on the socket like on any other, so the loop serves other
calls in the meantime and no thread changes hands.

Such a connection is in autocommit: every statement sees every commit made
before it was sent. It runs only prepared statements (generic plans: an
array's length is unknown until bound, so PostgreSQL would otherwise plan
each call afresh, at two to three times the cost of running it). They are
prepared on every new connection, and again if the server forgot them (a
``DISCARD ALL`` by a pooler).

A connection that breaks (a database restart, a failover) is replaced and
the statement sent once more on the new one: these are reads, so sending
one twice is harmless. Failures reach callers as ``peewee.OperationalError``,
as every other store failure does. (Opening a connection resolves the
database's host name on the loop, as libpq does that synchronously; it
happens once per connection.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import peewee
import psycopg2
from psycopg2 import errors, extensions

from bento_server.store.database import STATEMENTS

# A read that takes longer is stuck (a network partition, a database that
# stopped answering); its connection is given up and the callers told.
TIMEOUT_SECONDS = 10.0


class LoopConnection:
    """Named statements with ``$1``-style parameters, each given with the
    types of its parameters: ``{"name": ("text[], int", "SELECT ...")}``
    (None: the types PostgreSQL infers from the statement).

    One statement at a time: callers on one loop take turns (a
    ``ReadBatcher`` sends one batch at a time anyway).
    """

    def __init__(
        self,
        db: peewee.PostgresqlDatabase,
        statements: dict[str, tuple[str | None, str]],
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        # Peewee already parsed the URL into psycopg2's arguments.
        self._connect_args: dict[str, Any] = {"dbname": db.database, **db.connect_params}
        self._statements = statements
        self._timeout = timeout
        self._connection: Any = None
        self._turn = asyncio.Lock()

    async def execute(self, name: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of the prepared statement ``name`` run with ``args``."""
        placeholders = ", ".join(["%s"] * len(args))
        sql = f"EXECUTE {name}({placeholders})"
        STATEMENTS.inc()
        async with self._turn:
            for attempt in (1, 2):
                try:
                    async with asyncio.timeout(self._timeout):
                        connection = await self._connected()
                        return await self._run(connection, sql, args)
                except errors.InvalidSqlStatementName:
                    # The statements are gone from this session: prepare again, once.
                    self.close()
                    if attempt == 2:
                        raise
                except asyncio.CancelledError:
                    # Cut off mid-statement, the connection is of no more use.
                    self.close()
                    raise
                except TimeoutError as error:
                    self.close()
                    # A stuck read is not sent again: the callers have waited enough.
                    raise peewee.OperationalError("database read timed out") from error
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as error:
                    self.close()
                    if attempt == 2:
                        raise peewee.OperationalError(f"database read failed: {error}") from error
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _connected(self) -> Any:
        if self._connection is not None and not self._connection.closed:
            return self._connection
        self._connection = None
        connection = psycopg2.connect(**self._connect_args, async_=True)
        try:
            await _ready(connection)
            setup = [
                "SET plan_cache_mode = force_generic_plan",
                *(
                    f"PREPARE {n}{'' if types is None else f'({types})'} AS {sql}"
                    for n, (types, sql) in self._statements.items()
                ),
            ]
            for statement in setup:
                await self._run(connection, statement, None)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    async def _run(
        self, connection: Any, sql: str, args: Sequence[Any] | None
    ) -> list[tuple[Any, ...]]:
        cursor = connection.cursor()
        try:
            cursor.execute(sql, args)
            await _ready(connection)
            return cursor.fetchall() if cursor.description is not None else []
        finally:
            cursor.close()


async def _ready(connection: Any) -> None:
    """Waits, on the loop, until ``connection`` finished what it was doing."""
    loop = asyncio.get_running_loop()
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        waiting = loop.create_future()

        def wake(waiting: asyncio.Future[None] = waiting) -> None:
            # The socket stays ready until read: the loop may call twice.
            if not waiting.done():
                waiting.set_result(None)

        if state == extensions.POLL_READ:
            watch, unwatch = loop.add_reader, loop.remove_reader
        elif state == extensions.POLL_WRITE:
            watch, unwatch = loop.add_writer, loop.remove_writer
        else:
            raise psycopg2.OperationalError(f"unexpected poll state {state}")
        fd = connection.fileno()
        watch(fd, wake)
        try:
            await waiting
        finally:
            unwatch(fd)
