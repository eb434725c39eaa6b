"""Secrets Bento must use again later (webhook signing secrets), sealed at
rest with Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``).

Unlike API key secrets and activation codes, which Bento only compares and
so keeps as hashes, a signing secret is needed in the clear at every
delivery. What the database holds is sealed with a key the database does
not hold: ``BENTO_SECRET_KEY`` (a Fernet key: 32 bytes in URL-safe base64;
every replica needs the same one), or, for a SQLite database, a key file
beside it (``bento.db.key``) that the first start creates with mode 0600.
A PostgreSQL server without ``BENTO_SECRET_KEY`` serves everything but
webhook endpoints, which answer FAILED_PRECONDITION until one is set.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

from cryptography.fernet import Fernet, InvalidToken

from bento_server.errors import FailedPrecondition

KEY_ENV = "BENTO_SECRET_KEY"


class SecretBox:
    def __init__(self, key: bytes | None) -> None:
        self._fernet = Fernet(key) if key else None

    @property
    def ready(self) -> bool:
        return self._fernet is not None

    def _box(self) -> Fernet:
        if self._fernet is None:
            raise FailedPrecondition(
                f"webhook secrets need a key to be sealed with: set {KEY_ENV} "
                "(a Fernet key, the same on every replica)",
                "secret_key_missing",
            )
        return self._fernet

    def seal(self, secret: str) -> str:
        return self._box().encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._box().decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise FailedPrecondition(
                f"a webhook secret was sealed with another key than {KEY_ENV}'s",
                "secret_key_mismatch",
            ) from None


def key_for(database_url: str) -> bytes | None:
    """The sealing key: ``BENTO_SECRET_KEY``, else a SQLite database's key
    file (made on first use), else None."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        key = configured.encode()
        try:
            Fernet(key)  # a malformed key stops the start here, not at first use
        except ValueError:
            raise ValueError(
                f"{KEY_ENV} is not a Fernet key (32 bytes in URL-safe base64; "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')"
            ) from None
        return key
    if not database_url.startswith("sqlite:///"):
        return None
    path = unquote(database_url[len("sqlite:///") :])
    if path == ":memory:":
        return Fernet.generate_key()
    key_file = Path(path + ".key")
    if not key_file.exists():
        key = Fernet.generate_key()
        # Created with mode 0600 from the start: never readable by others,
        # not even for a moment. O_EXCL: of two servers starting at once,
        # one writes it and the other reads it.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(key)
    return key_file.read_bytes().strip()
