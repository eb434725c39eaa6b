"""The bad-input fuzzer's parts, built from the descriptors alone.

``rpcs()`` lists every method of every service in the generated ``*_pb2``
modules of ``bento.v1``, so a new RPC is fuzzed the day it is added.
``requests(rpc, pool)`` draws random request messages for any of them: every
field type with its extremes, unknown enum numbers, huge strings and lists,
broken timestamps, deep structs, from scratch or as a few changes to a
message the server accepted. ``raw_requests(rpc, pool)`` draws byte strings
that are not quite (or not at all) such a message. A ``Pool`` keeps the IDs,
values and messages the server answered with, so random requests name
existing objects often enough to get past validation into the use cases.

One module per concern: ``rpcs`` (the methods), ``pool`` (what the server
gave out), ``values`` (scalars and well-known types), ``messages`` (whole
requests), ``wire`` (bytes that are not a request), ``tokens`` (idempotency
keys, credentials, page tokens) and ``judging`` (calling and what an answer may be).
"""

from tests.fuzz.judging import (
    Call,
    Outcome,
    assert_clean,
    call_stream,
    call_unary,
    describe,
    failed,
    metadata,
)
from tests.fuzz.messages import requests
from tests.fuzz.pool import Pool
from tests.fuzz.rpcs import Rpc, rpcs, rpcs_of
from tests.fuzz.tokens import bad_authorizations, bad_page_tokens, idempotency_keys
from tests.fuzz.values import NOW
from tests.fuzz.wire import decodes, nested_too_deep, raw_requests

__all__ = [
    "NOW",
    "Call",
    "Outcome",
    "Pool",
    "Rpc",
    "assert_clean",
    "bad_authorizations",
    "bad_page_tokens",
    "call_stream",
    "call_unary",
    "decodes",
    "describe",
    "failed",
    "idempotency_keys",
    "metadata",
    "nested_too_deep",
    "raw_requests",
    "requests",
    "rpcs",
    "rpcs_of",
]
