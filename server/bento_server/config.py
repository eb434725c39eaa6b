"""How ``bento serve`` runs: the options it starts with, in one object
handed to what reads them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bento_server.store.database import DEFAULT_URL

DEFAULT_ADDRESS = "127.0.0.1:50051"

AccessLog = Literal["all", "errors", "off"]
"""Which calls get a log line: every call, those that did not answer OK,
or none. Every call is counted in the metrics either way."""


@dataclass(frozen=True)
class ServerConfig:
    """How ``bento serve`` runs."""

    address: str = DEFAULT_ADDRESS
    """host:port to listen on; port 0 picks a free one (printed on start)."""
    database_url: str = DEFAULT_URL
    """sqlite:///file.db or postgresql://user:password@host:port/name."""
    test_clock: bool = False
    """Run on a clock that only TestClockService moves."""
    workers: int = 8
    """Threads for store work."""
    scheduler_interval: float = 5.0
    """Seconds between sweeps of due billing work; 0 turns the sweep off."""
    shutdown_grace: float = 10.0
    """Seconds in-flight calls get to finish on SIGTERM/SIGINT."""
    tls_cert: str | None = None
    """PEM certificate chain for TLS; plaintext when unset."""
    tls_key: str | None = None
    """PEM private key for TLS."""
    event_retention_days: float = 0.0
    """Prune events older than this many days; 0 keeps them forever."""
    max_streams_per_caller: int = 32
    """Open WatchEvents streams one API key may hold on this server."""
    heartbeat_interval: float = 10.0
    """Seconds between heartbeats of an idle WatchEvents stream (at most 15)."""
    event_poll_interval: float = 0.25
    """Seconds between looks for events other processes committed."""
    credential_interval: float = 2.0
    """Most seconds between looks at whether open streams' keys were revoked
    (a revocation announced by any replica is looked at at once)."""
    metrics_address: str | None = None
    """host:port to serve Prometheus metrics on; off when unset."""
    webhooks_allow_private: bool = False
    """Let webhooks go to http:// and private addresses (development, tests)."""
    access_log: AccessLog = "all"
    """Log a line for every RPC ("all"), for failed ones ("errors"), or none ("off")."""
