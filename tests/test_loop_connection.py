"""The event loop's own PostgreSQL connection (store.loop_connection), on a
real PostgreSQL: what happens when the database does not answer."""

from __future__ import annotations

import asyncio

import peewee
import pytest

from bento_server.store.database import open_database
from bento_server.store.loop_connection import LoopConnection

STATEMENTS = {
    "nap": ("float8", "SELECT pg_sleep($1)"),
    "next": ("int", "SELECT $1 + 1"),
}


def test_a_read_that_takes_too_long_fails_and_the_next_goes_on(backend_url: str) -> None:
    if not backend_url.startswith("postgresql"):
        pytest.skip("the loop's own connection: PostgreSQL only")
    db = open_database(backend_url)
    assert isinstance(db, peewee.PostgresqlDatabase)

    async def scenario() -> None:
        connection = LoopConnection(db, STATEMENTS, timeout=0.5)
        try:
            assert await connection.execute("next", [41]) == [(42,)]
            # The read is given up after its timeout, long before it would end.
            with pytest.raises(peewee.OperationalError, match="timed out"):
                await asyncio.wait_for(connection.execute("nap", [30]), 10)
            # The stuck connection was dropped; the next read opens another.
            assert await connection.execute("next", [1]) == [(2,)]
        finally:
            connection.close()

    asyncio.run(scenario())
