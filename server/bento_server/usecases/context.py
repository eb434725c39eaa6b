"""What every use case needs: the store, the clock, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from bento_server.clock import Clock
from bento_server.store.database import Store
from bento_server.store.secret_box import SecretBox
from bento_server.store.statements import LoopReads

ADMIN = "admin"
PLATFORM = "platform"
PUBLISHER = "publisher"
ROLES = (ADMIN, PLATFORM, PUBLISHER)


@dataclass(frozen=True)
class Principal:
    """The caller, as its API key says."""

    key_id: str
    role: str
    # The platform (PL...) or app (AP...) a key acts for; None for admin.
    tenant_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


@dataclass(frozen=True)
class Deps:
    """The store and the clock the use cases run on."""

    store: Store
    clock: Clock
    # Events older than this may be pruned; None keeps them forever.
    event_retention: timedelta | None = None
    # Seals webhook signing secrets at rest; without a key it refuses.
    secrets: SecretBox = field(default_factory=lambda: SecretBox(None))
    # Webhooks may go to http:// and to private, loopback and link-local
    # addresses (development and tests only).
    webhooks_allow_private: bool = False
    # PostgreSQL: the short reads the event loop runs on its own connection.
    loop_reads: LoopReads | None = None

    @property
    def short_reads_on_loop(self) -> bool:
        """Whether a read of a few indexed rows may run on the event loop:
        on SQLite it takes microseconds and a hop to a thread costs more; a
        PostgreSQL read waits on the network, so it runs on a thread."""
        return not self.store.is_postgres
