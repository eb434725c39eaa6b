"""Calling the server and judging its answers: no input may reach INTERNAL or UNKNOWN."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc
from google.protobuf import text_format
from google.protobuf.message import DecodeError, Message

from tests.fuzz.rpcs import Rpc
from tests.fuzz.wire import decodes
from tests.support import RpcFailure, status_of

BROKEN = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)


@dataclass
class Outcome:
    code: grpc.StatusCode
    response: Message | None = None
    failure: RpcFailure | None = None
    responses: list[Message] = field(default_factory=list)


def failed(error: grpc.RpcError) -> Outcome:
    """What a failed call said."""
    described = status_of(error)
    return Outcome(described.code, failure=described)


def metadata(authorization: str | None, key: str | None = None) -> list[tuple[str, str]]:
    out = []
    if authorization is not None:
        out.append(("authorization", authorization))
    if key is not None:
        out.append(("idempotency-key", key))
    return out


def call_unary(
    channel: grpc.Channel,
    rpc: Rpc,
    request: Message | bytes,
    md: list[tuple[str, str]],
    timeout: float = 30.0,
) -> Outcome:
    raw = request if isinstance(request, bytes) else request.SerializeToString()
    method = channel.unary_unary(rpc.path, request_serializer=None, response_deserializer=None)
    try:
        answer = method(raw, metadata=md, timeout=timeout)
    except grpc.RpcError as error:
        return failed(error)
    return Outcome(grpc.StatusCode.OK, response=rpc.response_class.FromString(answer))


def call_stream(
    channel: grpc.Channel,
    rpc: Rpc,
    request: Message | bytes,
    md: list[tuple[str, str]],
    seconds: float,
    most: int = 200,
) -> Outcome:
    """Reads a stream for ``seconds`` (or ``most`` messages, then cancels it)."""
    raw = request if isinstance(request, bytes) else request.SerializeToString()
    method = channel.unary_stream(rpc.path, request_serializer=None, response_deserializer=None)
    call = method(raw, metadata=md, timeout=seconds)
    got: list[Message] = []
    try:
        for answer in call:
            got.append(rpc.response_class.FromString(answer))
            if len(got) >= most:
                call.cancel()
                break
    except grpc.RpcError as error:
        outcome = failed(error)
        outcome.responses = got
        return outcome
    return Outcome(grpc.StatusCode.OK, responses=got)


@dataclass(frozen=True)
class Call:
    """What was sent, shown only when an assertion fails (showing is slow)."""

    rpc: Rpc
    request: Message | bytes
    who: str
    key: str | None = None

    def __str__(self) -> str:
        request = self.request
        if not isinstance(request, bytes):
            try:
                text = text_format.MessageToString(request, as_one_line=True)
            except DecodeError:  # too deep to print: show the bytes
                request = request.SerializeToString()
            else:
                shown = text[:1500] + (f"... ({len(text)} chars)" if len(text) > 1500 else "")
        if isinstance(request, bytes):
            shown = repr(request[:300]) + (
                f"... ({len(request)} bytes)" if len(request) > 300 else ""
            )
        key = self.key if self.key is None else self.key[:40]
        return f"{self.rpc} as {self.who}, idempotency-key={key!r}: {shown}"


def describe(rpc: Rpc, request: Message | bytes, who: str, key: str | None) -> Call:
    return Call(rpc, request, who, key)


# The one error gRPC itself answers before any of our code runs: a request
# over the server's 4 MiB limit. (Metadata limits are never reached: the
# fuzzer keeps its metadata under gRPC's 8 KiB, and the server keeps its
# error trailers under it too.)
TRANSPORT_LIMIT = "Received message larger than max"
NOT_DECODED = "the request does not decode"


def assert_clean(outcome: Outcome, call: Call) -> None:
    """Not INTERNAL or UNKNOWN, and every error a rich one: domain ``bento``,
    a reason, and INVALID_ARGUMENT naming the bad field (unless the request
    did not decode, so that there is no field to name)."""
    assert outcome.code not in BROKEN, f"{outcome.code.name} {outcome.failure}\n{call}"
    got = outcome.failure
    if outcome.code == grpc.StatusCode.OK or got is None:
        return
    if outcome.code == grpc.StatusCode.RESOURCE_EXHAUSTED and TRANSPORT_LIMIT in got.message:
        raw = call.request if isinstance(call.request, bytes) else call.request.SerializeToString()
        assert len(raw) > 4 * 1024 * 1024, f"{got}\n{call}"
        return
    assert got.domain == "bento" and got.reason, f"error without ErrorInfo: {got}\n{call}"
    named = got.reason in ("invalid_argument", "invalid_page_token")
    if outcome.code == grpc.StatusCode.INVALID_ARGUMENT and named and not got.fields:
        raw = call.request if isinstance(call.request, bytes) else call.request.SerializeToString()
        undecodable = got.message.startswith(NOT_DECODED) and not decodes(call.rpc, raw)
        assert undecodable, f"INVALID_ARGUMENT names no field: {got}\n{call}"
