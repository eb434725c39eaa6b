"""A per-process memory of access answers, forgotten on every change.

Only with PostgreSQL: every transaction that changes who may use what sends
a notification (``Store.notify_access_changed``) that PostgreSQL delivers at
commit to every server LISTENing, which then forgets everything it
remembered. Writes in the same process forget at once, before their call
answers. The cache serves only while the listener's connection is up; when
it drops, everything is forgotten and nothing is remembered until it is
back, so a missed notification can never leave a stale answer behind.

A read that raced a change must not be remembered: ``put`` takes the
generation seen before the read and is ignored if a change came since.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable, Hashable
from typing import Any

import peewee

from bento_server.store.database import ACCESS_CHANGED, KEYS_CHANGED, open_database

log = logging.getLogger("bento.access")

MAX_ENTRIES = 200_000


class AccessCache:
    def __init__(self) -> None:
        self._entries: dict[Hashable, Any] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self.enabled = False

    @property
    def generation(self) -> int:
        return self._generation

    def get(self, key: Hashable) -> Any:
        return self._entries.get(key) if self.enabled else None

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        with self._lock:
            if not self.enabled or generation != self._generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


class AccessListener(threading.Thread):
    """Keeps a LISTEN connection open and clears the cache on every notice.

    ``keys_changed`` is called (on this thread) when a notice says an API key
    was revoked, and whenever the connection is (re)made, since a revocation
    may have gone unheard while it was down."""

    def __init__(
        self, url: str, cache: AccessCache, keys_changed: Callable[[], None] = lambda: None
    ) -> None:
        super().__init__(name="bento-access-listener", daemon=True)
        self._url = url
        self._cache = cache
        self._keys_changed = keys_changed
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        while not self._stop.is_set():
            db: peewee.Database | None = None
            try:
                db = open_database(self._url)
                db.connect()
                connection = db.connection()
                connection.autocommit = True
                connection.cursor().execute(f"LISTEN {ACCESS_CHANGED}")
                # Only now can no change go unheard.
                self._cache.clear()
                self._cache.enabled = True
                self._keys_changed()
                while not self._stop.is_set():
                    if select.select([connection], [], [], 1.0)[0]:
                        connection.poll()
                        if connection.notifies:
                            keys = any(n.payload == KEYS_CHANGED for n in connection.notifies)
                            connection.notifies.clear()
                            self._cache.clear()
                            if keys:
                                self._keys_changed()
            except Exception:
                log.warning("access notifications lost; serving without the cache", exc_info=True)
            finally:
                self._cache.enabled = False
                self._cache.clear()
                if db is not None and not db.is_closed():
                    db.close()
            self._stop.wait(1.0)
