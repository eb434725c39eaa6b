"""The connection, built from a URL, and the transaction helpers.

``sqlite:///bento.db`` (a path relative to the current folder; four slashes
for an absolute one) or ``postgresql://user:password@host:port/name``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import itertools
import re
import threading
import zlib
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

import peewee
import psycopg2
from playhouse.shortcuts import ReconnectMixin
from prometheus_client import Counter

# What this server asks of its database: the bench divides them by the flows
# it ran (statements and commits per flow), operators watch them for a
# change that multiplied them.
STATEMENTS = Counter(
    "bento_store_statements",
    "Statements this server sent to its database, BEGIN, SAVEPOINT and COMMIT included.",
)
COMMITS = Counter("bento_store_commits", "Transactions this server committed.")

T = TypeVar("T")

DEFAULT_URL = "sqlite:///bento.db"
# The PostgreSQL notification channel of changes that affect access checks.
ACCESS_CHANGED = "bento_access_changed"
# The payload of an access change that revoked an API key.
KEYS_CHANGED = "api_key"

# SQLite: WAL lets readers run beside the one writer; the busy timeout makes
# a writer wait for the lock instead of failing at once. synchronous=FULL
# because this is the system of record for money: a committed payment must
# survive a power cut, not only a process crash. Reads map the file (256
# MiB of it) instead of copying pages into each connection's cache: the
# mapping is the operating system's page cache, shared by every connection,
# where a cache per connection large enough for a big store would cost its
# size once per thread. Writes still go through SQLite's own journal.
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 15_000,
    "synchronous": "full",
    "cache_size": -16_000,
    "mmap_size": 256 * 1024 * 1024,
}


@dataclass(frozen=True)
class Store:
    """An open database and what kind it is.

    The models are bound to one store at a time (``bind``, which
    ``connect`` does): a model is a class, so the database its queries go
    to is the whole process's. A process holds one open store; closing it
    lets the next one be opened, as a test that wants a fresh store does.
    """

    db: peewee.Database
    url: str
    # SQLite writers of this process queue here rather than in SQLite's
    # busy handler, which sleeps up to 100 ms between tries: under load that
    # sleep, not the work, made the latency. Other processes still meet
    # the busy timeout.
    _writer: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # Set on a thread while it runs one caller's part of a group transaction
    # (``part_of_group``) and that part has not opened its write yet.
    _parts: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    # Per thread: the outboxes of the write transaction it is in (``outbox``).
    _outboxes: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    # Per thread: what the caller's write has read once (``memo``).
    _memos: threading.local = field(default_factory=threading.local, repr=False, compare=False)
    # The statements prepared on this thread's PostgreSQL connection.
    _prepared_here: threading.local = field(
        default_factory=threading.local, repr=False, compare=False
    )

    @functools.cached_property
    def is_postgres(self) -> bool:
        # Kept: every statement of a hot path asks.
        return isinstance(self.db, peewee.PostgresqlDatabase)

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """A transaction that will write.

        On SQLite it takes the write lock at BEGIN (IMMEDIATE): a deferred
        transaction that reads first and writes later fails with "database is
        locked" when another writer got in between, and the busy timeout
        cannot help it.

        A nested call joins the transaction it is in, without a savepoint
        (two statements, SAVEPOINT and RELEASE, on every mutation): an
        exception that leaves it leaves the outer one too and rolls back
        the whole. Work that must survive the failure of one of its parts
        (a batch) takes its own savepoints with ``savepoint``.

        In one caller's part of a group transaction (``part_of_group``) the
        outermost ``write`` is a savepoint: it stands for the transaction
        the part would have had alone, and fails alone; its outboxes are
        flushed at its end.

        Just before COMMIT, in the transaction, each ``outbox`` is flushed.
        """
        if self.db.in_transaction():
            if getattr(self._parts, "opening", False):
                self._parts.opening = False
                self._memos.open = {}
                try:
                    with self.savepoint(flush=True):
                        yield
                finally:
                    self._parts.opening = True
                    self._memos.open = None
            else:
                yield
        elif isinstance(self.db, peewee.SqliteDatabase):
            with self._writer, self.db.atomic("IMMEDIATE"), self._flushed_at_end():
                yield
        else:
            with self.db.atomic(), self._flushed_at_end():
                yield

    @contextlib.contextmanager
    def group(self) -> Iterator[None]:
        """A SQLite write transaction that holds the work of several callers
        (``part_of_group`` each) and commits it with one COMMIT."""
        assert isinstance(self.db, peewee.SqliteDatabase), "groups are SQLite's"
        with self._writer, self.db.atomic("IMMEDIATE"), self._flushed_at_end():
            yield

    def part_of_group(self, work: Callable[[], T]) -> T:
        """Runs one caller's ``work`` in the group transaction this thread
        holds, each of its writes as it would run alone (see ``write``)."""
        self._parts.opening = True
        try:
            return work()
        finally:
            self._parts.opening = False

    @contextlib.contextmanager
    def savepoint(self, *, flush: bool = False) -> Iterator[None]:
        """A part of a write transaction that fails alone: what it wrote, and
        what it put in the outboxes, is undone if an exception leaves it, and
        the transaction goes on. ``flush``: what it put in the outboxes is
        written at its end, in it, so that writing it fails only this part
        too, rather than the whole transaction at COMMIT."""
        outboxes = getattr(self._outboxes, "open", None)
        if outboxes is None:  # a savepoint of a transaction with no outboxes
            outboxes = {}
        kept = {name: len(box) for name, (box, _) in outboxes.items()}
        try:
            with self.db.atomic():
                yield
                if flush:
                    for name, (box, write) in list(outboxes.items()):
                        added = box[kept.get(name, 0) :]
                        if added:
                            del box[kept.get(name, 0) :]
                            write(added)
        except BaseException:
            for name, (box, _) in list(outboxes.items()):
                del box[kept.get(name, 0) :]
            raise

    def outbox(self, name: str, flush: Callable[[list[Any]], None]) -> list[Any]:
        """A list that lives as long as this write transaction: what is put
        in it is written by ``flush(items)`` at the transaction's end, just
        before COMMIT, all at once (the event log's rows: one insert and
        the shortest hold of its lock). A savepoint that rolls back takes
        back what was put in it meanwhile."""
        outboxes = self._open_outboxes()
        if name not in outboxes:
            outboxes[name] = ([], flush)
        return outboxes[name][0]

    def _open_outboxes(self) -> dict[str, tuple[list[Any], Callable[[list[Any]], None]]]:
        outboxes = getattr(self._outboxes, "open", None)
        if outboxes is None:
            raise RuntimeError("an outbox is for work inside Store.write()")
        return outboxes  # type: ignore[no-any-return]

    def memo(self, key: Hashable, read: Callable[[], T]) -> T:
        """``read()``, read once per caller's write: within one ``write`` (or
        one caller's part of a group) the same ``key`` answers what the first
        call read. For what the callers that read it do not change: the
        catalog (a plan's products), which the billing paths read several
        times per subscription and a billing batch for every one of its
        subscriptions. Outside a write it reads every time."""
        memos = getattr(self._memos, "open", None)
        if memos is None:
            return read()
        if key not in memos:
            memos[key] = read()
        return memos[key]  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def _flushed_at_end(self) -> Iterator[None]:
        """Outboxes for the transaction this wraps, flushed when its work is
        done; a memo for its caller's reads."""
        self._outboxes.open = {}
        self._memos.open = {}
        try:
            yield
            for box, flush in self._outboxes.open.values():
                if box:
                    flush(box)
        finally:
            self._outboxes.open = None
            self._memos.open = None

    @contextlib.contextmanager
    def read(self) -> Iterator[None]:
        """A read-only transaction: one consistent snapshot for several reads."""
        with self.db.atomic():
            yield

    def fetch(
        self, sql: str, args: tuple[Any, ...], *, prepare: bool = False
    ) -> list[tuple[Any, ...]]:
        """The rows of one read, through the driver's own cursor: Peewee's
        ``execute_sql`` costs as much as an indexed read, and the hot paths
        (credentials, access checks) make one on every call. ``prepare``:
        see ``_prepared``.

        The raw cursor bypasses the reconnect of ``execute_sql``; a read that
        meets a connection PostgreSQL dropped is sent again through it.
        """
        STATEMENTS.inc()
        if self.is_postgres:  # only PostgreSQL holds writes back (``held_writes``)
            self.db.send_held()  # type: ignore[attr-defined]
        try:
            cursor = self.db.cursor()
            if prepare and self.is_postgres:
                cursor.execute(*self._prepared(cursor, sql, args))
            else:
                cursor.execute(sql, args)
            return cursor.fetchall()  # type: ignore[no-any-return]
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            if self.db.in_transaction():
                raise
            return list(self.db.execute_sql(sql, args))

    def execute(
        self, sql: str, args: tuple[Any, ...], *, prepare: bool = False, hold: bool = False
    ) -> Any:
        """Runs one write through the driver's cursor (named statements:
        ``store.statements``); answers the cursor. ``prepare``: see
        ``_prepared``. ``hold``: a write whose cursor the caller does not
        read, which ``held_writes`` may hold back (then it answers None)."""
        STATEMENTS.inc()
        db: _Counted = self.db  # type: ignore[assignment]
        # Only PostgreSQL holds writes back (``held_writes``).
        held = db.holding() if hold and self.is_postgres else None
        # Driver errors arrive as Peewee's (IntegrityError ...), as from any query.
        with peewee.__exception_wrapper__:  # type: ignore[attr-defined]
            if held is not None:
                if prepare:
                    sql, args = self._prepared(held.connection.cursor(), sql, args)
                held.hold(sql, args)
                return None
            cursor = self.db.cursor()
            if self.is_postgres:
                db.send_held()
                if prepare:
                    sql, args = self._prepared(cursor, sql, args)
            cursor.execute(sql, args)
        return cursor

    @contextlib.contextmanager
    def held_writes(self) -> Iterator[None]:
        """PostgreSQL: the writes of named statements made in this block are
        held back and sent together, in their order, in one round trip:
        before the next statement of any other kind (a read, a savepoint, a
        commit), at the block's end, or, once ``SEND_AHEAD`` wait, from a
        sender thread while the block goes on. A rollback drops those not
        yet done.

        For a batch whose writes are many and read nothing back (the billing
        clock's): each write alone costs a round trip, several times what
        PostgreSQL takes to run it, and meanwhile the caller could have
        worked out the next. A held write's error surfaces later, when it is
        sent or its batch is waited for, so the block is for work that fails
        as a whole. SQLite runs each write at once: it costs no round trip.
        """
        db: _Counted = self.db  # type: ignore[assignment]
        if not self.is_postgres or db.holding() is not None:
            yield  # (a block in a block: the outer one sends)
            return
        db.held.state = held = _Held(self.db.connection())
        try:
            yield
            held.send()
        finally:
            held.drop()
            db.held.state = None

    def _prepared(
        self, cursor: Any, sql: str, args: tuple[Any, ...]
    ) -> tuple[str, tuple[Any, ...]]:
        """PostgreSQL: ``sql`` prepared once on this thread's connection, and
        the EXECUTE that runs it with ``args``.

        A statement sent as text is parsed, analysed and planned every time,
        most of what a one-row read or insert costs the server; a prepared
        one is planned once per connection. Prepared statements outlive the
        transaction that made them, even rolled back; a new connection (a
        reconnect) prepares its own.
        """
        mine = self._prepared_here
        connection = cursor.connection
        if getattr(mine, "connection", None) is not connection:
            mine.connection, mine.names = connection, set()
        named = _PREPARED_NAMES.get(sql)
        if named is None:
            with _PREPARED_LOCK:
                name = f"bento_{len(_PREPARED_NAMES)}"
                marks = sum(m.group() == "%s" for m in _MARKS.finditer(sql))
                execute = (
                    f"EXECUTE {name} ({', '.join(['%s'] * marks)})" if marks else f"EXECUTE {name}"
                )
                named = _PREPARED_NAMES.setdefault(sql, (name, execute))
        name, execute = named
        if name not in mine.names:
            STATEMENTS.inc()
            cursor.execute(f"PREPARE {name} AS {numbered(sql)}")
            mine.names.add(name)
        return execute, args

    def lock(self, name: str) -> None:
        """Serializes transactions that share ``name`` until this one ends.

        PostgreSQL takes a transaction-scoped advisory lock (held back with
        the writes in a ``held_writes`` block: it is taken before them, when
        they are sent). SQLite needs nothing: ``write`` already holds the
        database's single write lock.
        """
        if self.is_postgres:
            self.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_key(name),), hold=True)

    def notify_access_changed(self, what: str = "") -> None:
        """Tells every server on this database that who-may-use-what changed
        (``what``: ``KEYS_CHANGED`` when an API key was revoked).

        PostgreSQL delivers the notification when this transaction commits,
        and not at all if it rolls back; servers drop their access caches on
        it. SQLite servers keep no such cache, so there is nothing to tell.
        """
        if self.is_postgres:
            self.execute("SELECT pg_notify(%s, %s)", (ACCESS_CHANGED, what), hold=True)

    def bind(self) -> None:
        """Binds every model to this store's database, until ``close``.

        The models hold the database itself, not a proxy to it: a query
        reaches it without a hop. Raises RuntimeError while another store
        is bound: its queries would go to this one's database.
        """
        global _bound
        with _binding:
            if _bound is not None and _bound is not self:
                raise RuntimeError(
                    f"the models are bound to {_bound.url}: close that store before "
                    f"opening {self.url} (one store per process)"
                )
            self.db.bind(_models(), bind_refs=False, bind_backrefs=False)
            _bound = self

    def close(self) -> None:
        """Closes this thread's connection and, when the models are bound to
        this store, unbinds them: until a store is opened again, a query
        fails instead of reaching a database nobody holds."""
        global _bound
        with _binding:
            if _bound is self:
                for model in _models():
                    model._meta.set_database(None)
                _bound = None
        if not self.db.is_closed():
            self.db.close()


# The store the models are bound to (``Store.bind``), if any.
_bound: Store | None = None
_binding = threading.Lock()


def _models() -> list[type[peewee.Model]]:
    from bento_server.store.models import ALL_MODELS  # the models import this module

    return list(ALL_MODELS)


# The name each prepared statement's text goes by, the same on every
# connection, and the EXECUTE that runs it.
_PREPARED_NAMES: dict[str, tuple[str, str]] = {}
_PREPARED_LOCK = threading.Lock()


# A driver's placeholder (``%s``) or escaped percent sign (``%%``).
_MARKS = re.compile(r"%[s%]")


def numbered(sql: str) -> str:
    """A driver's statement (``%s`` placeholders, ``%%`` for a percent sign)
    as PREPARE takes it (``$1``, ``$2``...)."""
    numbers = itertools.count(1)
    return _MARKS.sub(lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", sql)


def _lock_key(name: str) -> int:
    # A signed 64-bit key for pg_advisory_xact_lock.
    value = zlib.crc32(name.encode()) << 32 | zlib.adler32(name.encode())
    return value - (1 << 64) if value >= 1 << 63 else value


# Held writes (``Store.held_writes``) go on to the database once this many
# wait, while their caller goes on with the next ones.
SEND_AHEAD = 64
_senders: concurrent.futures.ThreadPoolExecutor | None = None
_senders_lock = threading.Lock()


def _sender() -> concurrent.futures.ThreadPoolExecutor:
    global _senders
    with _senders_lock:
        if _senders is None:
            _senders = concurrent.futures.ThreadPoolExecutor(
                max_workers=4, thread_name_prefix="bento-held-writes"
            )
        return _senders


def _send(connection: Any, writes: list[tuple[str, tuple[Any, ...]]]) -> None:
    """Writes in their order, in one round trip: statements are text with
    their parameters filled in by the driver (psycopg2 fills them in before
    sending), so one text holds them all."""
    sql = "; ".join(text for text, _ in writes)
    params = tuple(param for _, args in writes for param in args)
    connection.cursor().execute(sql, params)


class _Held:
    """One thread's writes held back (``Store.held_writes``), and those of
    them on their way to the database on a sender thread: one batch at a
    time, so they arrive in order. The connection is the holding thread's;
    psycopg2 lets another thread run a cursor of it, and the holding thread
    sends nothing else on it until that batch is done (``done_sending``)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.writes: list[tuple[str, tuple[Any, ...]]] = []
        self.sending: concurrent.futures.Future[None] | None = None

    def hold(self, sql: str, args: tuple[Any, ...]) -> None:
        self.writes.append((sql, args))
        if len(self.writes) >= SEND_AHEAD:
            self.done_sending()
            writes, self.writes = self.writes, []
            self.sending = _sender().submit(_send, self.connection, writes)

    def done_sending(self) -> None:
        """Waits for the batch on its way; its error is raised here."""
        if self.sending is not None:
            sending, self.sending = self.sending, None
            with peewee.__exception_wrapper__:  # type: ignore[attr-defined]
                sending.result()

    def send(self) -> None:
        self.done_sending()
        if self.writes:
            writes, self.writes = self.writes, []
            with peewee.__exception_wrapper__:  # type: ignore[attr-defined]
                _send(self.connection, writes)

    def drop(self) -> None:
        """A rollback undoes every write held or on its way: each came after
        the last statement sent, a savepoint among them."""
        with contextlib.suppress(Exception):
            self.done_sending()  # the rollback undoes it, failed or not
        self.writes = []


class _Counted:
    """Counts what a Peewee database sends (``STATEMENTS``, ``COMMITS``), and
    sends the writes ``Store.held_writes`` held before anything else."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per thread: the writes held back (``Store.held_writes``), if any.
        self.held: threading.local = threading.local()

    def holding(self) -> _Held | None:
        return getattr(self.held, "state", None)  # type: ignore[no-any-return]

    def send_held(self) -> None:
        held = self.holding()
        if held is not None:
            held.send()

    def execute_sql(self, sql: str, params: Any = None, commit: Any = None) -> Any:
        held = self.holding()
        if held is not None:
            if sql.startswith("ROLLBACK"):
                held.drop()
            else:
                held.send()
        STATEMENTS.inc()
        return super().execute_sql(sql, params, commit)  # type: ignore[misc]

    def commit(self) -> None:
        self.send_held()
        STATEMENTS.inc()
        COMMITS.inc()
        super().commit()  # type: ignore[misc]

    def rollback(self) -> None:
        held = self.holding()
        if held is not None:
            held.drop()
        STATEMENTS.inc()
        super().rollback()  # type: ignore[misc]


class CountedSqliteDatabase(_Counted, peewee.SqliteDatabase):
    """SQLite, counted (its BEGIN goes through ``execute_sql``)."""


class ReconnectingPostgresqlDatabase(ReconnectMixin, _Counted, peewee.PostgresqlDatabase):  # type: ignore[misc]
    """Reconnects when the server dropped the connection (a restart, a
    failover) instead of failing every later call on that thread.

    Only a statement outside a transaction is sent again (the mixin never
    retries inside one). Bento writes only in transactions, so what is sent
    again is a read or a BEGIN.
    """

    # (error, a fragment of its message): how psycopg2 reports a connection
    # the server ended or that broke under it.
    def begin(self, *args: Any, **kwargs: Any) -> None:
        STATEMENTS.inc()  # PostgreSQL's BEGIN bypasses ``execute_sql``
        super().begin(*args, **kwargs)

    reconnect_errors = (
        (peewee.OperationalError, "terminating connection"),
        (peewee.OperationalError, "server closed the connection"),
        (peewee.OperationalError, "connection has been closed"),
        (peewee.OperationalError, "could not receive data"),
        (peewee.OperationalError, "could not send data"),
        (peewee.OperationalError, "no connection to the server"),
        (peewee.InterfaceError, "connection already closed"),
    )


def connect(url: str = DEFAULT_URL) -> Store:
    """Opens the database at ``url`` and binds the models to it
    (``Store.bind``: one open store per process)."""
    store = Store(db=open_database(url), url=url)
    store.bind()
    return store


def open_database(url: str) -> peewee.Database:
    """Builds a Peewee database from a URL without binding the models."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        raw_path = unquote(url[len("sqlite://") :])
        if not raw_path.startswith("/"):
            raise ValueError(
                f"bad SQLite URL {url!r}: use sqlite:///relative.db or sqlite:////abs.db"
            )
        path = raw_path[1:]
        if not path:
            raise ValueError(f"bad SQLite URL {url!r}: no file name")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return CountedSqliteDatabase(path, pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if parsed.scheme in ("postgresql", "postgres"):
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        return ReconnectingPostgresqlDatabase(
            unquote(parsed.path.lstrip("/")),
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or None,
            **options,
        )
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")
