"""Call metadata: idempotency keys, authorizations that are wrong in every way, page tokens that were tampered with."""

from __future__ import annotations

import base64

from hypothesis import strategies as st

from tests.fuzz.values import PRINTABLE, pick
from tests.support import basic

# Metadata values gRPC can carry: printable ASCII. gRPC clients refuse any
# other character before sending (see test_fuzz.py).
PRINTABLE_TEXT = st.text(PRINTABLE, max_size=64)


def idempotency_keys() -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.none(),
        st.none(),
        st.uuids().map(lambda u: u.hex),
        st.sampled_from(["", " ", "has space", "k", "x" * 255, "x" * 256, "x" * 300]),
        PRINTABLE_TEXT,
        st.builds(lambda n: "k" * n, st.integers(256, 3_000)),
    )


def bad_authorizations(good: str, revoked: str) -> st.SearchStrategy[str | None]:
    """``authorization`` values that must not let anyone in.

    ``good`` is a working KEY_ID:SECRET, ``revoked`` one that was revoked.
    """
    key_id, _, secret = good.partition(":")
    other = "AK" + "0" * 19
    variants = [
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer " + base64.b64encode(good.encode()).decode(),
        "Basic " + good,
        "Basic " + base64.urlsafe_b64encode(good.encode()).decode() + "!",
        "Basic " + base64.b64encode(good.encode()).decode()[:-2],
        basic(revoked),
        basic(f"{key_id}:{secret}x"),
        basic(f"{key_id}:{secret[:-1]}"),
        basic(f"{key_id}:"),
        basic(f":{secret}"),
        basic(f"{key_id}{secret}"),
        basic(f"{other}:{secret}"),
        basic(f"{key_id.lower()}:{secret}"),
        basic(f"{key_id}:{secret.upper()}") if secret.upper() != secret else basic(f"{key_id}:?"),
        basic(f"{key_id}:{secret}:{secret}"),
        basic(f"{key_id}\x00:{secret}"),
        basic("x" * 65 + ":" + secret),
        basic(key_id + ":" + "s" * 257),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + "A" * 4_000,
        "Basic ====",
        "Basic " + base64.b64encode(good.encode()).decode() + " extra",
    ]
    return st.one_of(
        st.sampled_from(variants),
        PRINTABLE_TEXT,
        PRINTABLE_TEXT.map(lambda text: "Basic " + text),
        st.binary(max_size=96).map(lambda data: "Basic " + base64.b64encode(data).decode()),
        st.tuples(PRINTABLE_TEXT, PRINTABLE_TEXT).map(lambda pair: basic(f"{pair[0]}:{pair[1]}")),
    )


def _changed(token_and_index: tuple[str, int]) -> str:
    token, index = token_and_index
    at = index % len(token)
    return token[:at] + ("B" if token[at] != "B" else "C") + token[at + 1 :]


def bad_page_tokens(issued: list[str]) -> st.SearchStrategy[str]:
    """Page tokens no list gave out for this request. ``issued`` holds
    tokens other lists (or the same list with other filters) gave out."""

    def forged(body: bytes, checksum: bytes) -> str:
        return base64.urlsafe_b64encode(body + b"." + checksum).decode().rstrip("=")

    json_bodies = st.sampled_from(
        [
            b'{"v":1,"s":"0000000000000000","k":"SUB1"}',
            b'{"v":1}',
            b"[]",
            b"null",
            b'{"v":2,"s":"x","k":1}',
            b'{"k":{"a":[1,2]}}',
            b'{"v":1,"s":"' + b"f" * 16 + b'","k":1e999}',
        ]
    )
    return st.one_of(
        st.text(min_size=1, max_size=40),
        st.text(PRINTABLE, min_size=1, max_size=200),
        st.binary(min_size=1, max_size=120).map(lambda d: base64.urlsafe_b64encode(d).decode()),
        st.builds(forged, json_bodies, st.binary(max_size=16).map(lambda d: d.hex().encode())),
        st.builds(lambda n: "A" * n, st.integers(1_025, 50_000)),
        st.sampled_from(["=", "==", "A", "AA=", "-_-_", "\x00", "💥", " "]),
        pick(issued, "eyJ2IjoxfQ"),
        # An issued token with a character changed.
        st.tuples(pick(issued, "eyJ2IjoxfQ"), st.integers(0, 1 << 16)).map(_changed),
    )
