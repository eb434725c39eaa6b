"""Bento's IDs: the seed's prefix and a time-ordered number.

The number is milliseconds since 2020 in the high bits and random low bits,
so IDs sort by creation time (list orders rely on it), do not reveal counts,
and replicas need no coordination. Within a process they strictly increase.
The number is zero-padded to 19 digits so that string order is number order.
"""

from __future__ import annotations

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


def _next_number() -> int:
    global _last
    millis = int(time.time() * 1000) - _EPOCH_MS
    candidate = (millis << _RANDOM_BITS) | secrets.randbits(_RANDOM_BITS)
    with _lock:
        _last = candidate if candidate > _last else _last + 1
        return _last


def new_id(prefix: str) -> str:
    """Returns a new ID with ``prefix`` ("SUB0476...")."""
    return f"{prefix}{_next_number():019d}"


def new_plan_id() -> str:
    """Returns a new plan ID: opaque, lower-case hex, time-ordered."""
    return f"{_next_number():016x}"
