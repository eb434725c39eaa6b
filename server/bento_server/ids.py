"""Bento's IDs: the seed's prefix and a time-ordered number.

The number is milliseconds since 2020 in the high bits and random low bits,
so IDs sort by creation time (list orders rely on it), do not reveal counts,
and replicas need no coordination. Within a process they strictly increase.
The number is zero-padded to 19 digits so that string order is number order.
"""

from __future__ import annotations

import os
import secrets
import threading
import time

PLATFORM = "PL"
APP = "AP"
PRODUCT = "PR"
SUBSCRIPTION = "SUB"
INVOICE = "INV"
PAYMENT = "PAY"
ACTIVATION_SESSION = "AS"
API_KEY = "AK"
EVENT = "EV"
WEBHOOK_ENDPOINT = "WH"
WEBHOOK_DELIVERY = "WD"
ALLOCATION = "AL"
# The seed's JWT identifier of an activation item ("at_479027832567890234").
ACTIVATION_TOKEN = "at_"


def is_token(text: str) -> bool:
    """Only visible ASCII (``!`` to ``~``): what IDs, API keys, idempotency
    keys and page tokens are made of. (Checked in C: this runs on every call.)"""
    return text.isascii() and text.isprintable() and " " not in text


_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
_RANDOM_BITS = 22

_lock = threading.Lock()
_last = 0
# Random numbers from the system's bytes, taken a page at a time: a system
# call per ID showed in the billing clock's profile, and so did cutting
# each number out of the page. A forked child takes its own.
_RANDOM_PAGE = 4095  # 1,365 numbers of three bytes
_MASK = (1 << _RANDOM_BITS) - 1
_randoms: list[int] = []


def _forget_random() -> None:
    _randoms.clear()


os.register_at_fork(after_in_child=_forget_random)


def _random_bits() -> int:
    """_RANDOM_BITS random bits (the caller holds ``_lock``)."""
    if not _randoms:
        page = secrets.token_bytes(_RANDOM_PAGE)
        _randoms.extend(
            int.from_bytes(page[i : i + 3], "big") & _MASK for i in range(0, _RANDOM_PAGE, 3)
        )
    return _randoms.pop()


def _next_number() -> int:
    global _last
    millis = int(time.time() * 1000) - _EPOCH_MS
    with _lock:
        candidate = (millis << _RANDOM_BITS) | _random_bits()
        _last = candidate if candidate > _last else _last + 1
        return _last


def new_id(prefix: str) -> str:
    """Returns a new ID with ``prefix`` ("SUB0476...")."""
    return f"{prefix}{_next_number():019d}"


def _hex_id() -> str:
    return f"{_next_number():016x}"


def new_plan_id() -> str:
    """Returns a new plan ID: opaque, lower-case hex, time-ordered."""
    return _hex_id()


def new_phase_id() -> str:
    """Returns a new price phase ID: 16 lower-case hex digits, the shape
    phase IDs have always had (subscriptions and invoices quote them)."""
    return _hex_id()
