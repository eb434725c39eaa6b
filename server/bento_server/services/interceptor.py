"""Authentication, the error path and the access log, around every RPC.

Health and reflection are open; every other method needs
``authorization: Basic base64(KEY_ID:SECRET)``. The caller is put in a
context variable for the servicer, and whatever the servicer raises leaves
through ``status.abort``.

Requests are decoded here, after authentication, rather than by gRPC: gRPC
answers a request that does not decode with UNKNOWN (and logs a stack), while
bad bytes are the caller's mistake and answer INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import contextvars
import inspect
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from bento_server import ids
from bento_server.config import ServerConfig
from bento_server.errors import BentoError, InvalidArgument, Unauthenticated
from bento_server.infra import metrics
from bento_server.services import status
from bento_server.services.authorization import authorize
from bento_server.usecases.context import Principal
from bento_server.usecases.credentials import Authenticator

OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

current_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar("current_principal")
current_method: contextvars.ContextVar[str] = contextvars.ContextVar("current_method")

log = logging.getLogger("bento.rpc")


# No credential is longer: a key ID of at most 64 characters and a secret of
# at most 256, in base64, with the scheme.
MAX_AUTHORIZATION = 512


def _malformed(what: str) -> Unauthenticated:
    # The message says what is wrong with the value, never the value. The
    # reason stays `unauthenticated`, as for a missing or an
    # unknown key: clients already act on it.
    return Unauthenticated(f"malformed authorization: {what}")


def parse_basic(metadata: tuple[tuple[str, Any], ...] | None) -> tuple[str, str]:
    """The (key_id, secret) of an ``authorization: Basic`` header; any value
    that is not exactly that is UNAUTHENTICATED before anything is looked up."""
    values = [v for k, v in (metadata or ()) if k == "authorization"]
    if not values:
        raise Unauthenticated(
            "missing authorization metadata: send 'authorization: Basic base64(KEY_ID:SECRET)'"
        )
    if len(values) > 1:
        raise _malformed("more than one authorization header")
    value = values[0]
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if len(value) > MAX_AUTHORIZATION:
        raise _malformed(f"longer than {MAX_AUTHORIZATION} characters")
    scheme, _, encoded = value.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise _malformed("expected 'Basic base64(KEY_ID:SECRET)'")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        # ValueError also covers binascii.Error, and a header with characters
        # outside ASCII, which b64decode refuses before decoding anything.
        raise _malformed("not base64 of KEY_ID:SECRET") from None
    key_id, sep, secret = decoded.partition(":")
    if not sep or not key_id or not secret or len(key_id) > 64 or len(secret) > 256:
        raise _malformed("expected base64 of KEY_ID:SECRET")
    if not ids.is_token(key_id) or not ids.is_token(secret):
        # No key has other characters, and PostgreSQL refuses NUL in a query.
        raise _malformed("KEY_ID and SECRET are printable ASCII")
    return key_id, secret


class BentoInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, authenticator: Authenticator, config: ServerConfig) -> None:
        self._authenticator = authenticator
        self._access_log = config.access_log
        # The wrapped handler of each method, built on its first call: the
        # per-call work is then only what the call itself needs.
        self._wrapped: dict[str, grpc.RpcMethodHandler | None] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        try:
            return self._wrapped[method]  # type: ignore[return-value]
        except KeyError:
            pass
        handler = await continuation(handler_call_details)
        wrapped = self._wrap(method, handler)
        if handler is not None:
            self._wrapped[method] = wrapped
        return wrapped  # type: ignore[return-value]

    def _wrap(
        self, method: str, handler: grpc.RpcMethodHandler | None
    ) -> grpc.RpcMethodHandler | None:
        if handler is None:
            return handler
        if method.startswith(OPEN_PREFIXES):
            return _open(handler)
        decode = handler.request_deserializer
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, method, decode),
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, method, decode),
                response_serializer=handler.response_serializer,
            )
        return handler

    def _authenticate(self, method: str, metadata: Any) -> None:
        key_id, secret = parse_basic(metadata)
        principal = self._authenticator.authenticate(key_id, secret)
        # Known before the role is checked, so that a refusal names its caller.
        current_principal.set(principal)
        current_method.set(method)
        authorize(principal, method)

    def _unary(self, behavior: Any, method: str, decode: Any) -> Any:
        async def wrapped(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            metadata = context.invocation_metadata()
            logged = False
            outcome = "OK"
            try:
                self._authenticate(method, metadata)
                return await behavior(_decode(decode, raw), context)
            except Exception as raised:
                if _is_abort(raised):
                    raise
                error = status.from_exception(raised, method)
                # Logged and counted before the caller can see the answer.
                self._log_call(method, error.code, started, metadata)
                logged = True
                await status.abort(context, error)
            except BaseException:
                outcome = _cut_short(context)
                raise
            finally:
                if not logged:
                    self._log_call(method, outcome, started, metadata)

        return wrapped

    def _stream(self, behavior: Any, method: str, decode: Any) -> Any:
        async def wrapped(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            started = time.perf_counter()
            metadata = context.invocation_metadata()
            logged = False
            outcome = "OK"
            try:
                self._authenticate(method, metadata)
                async for response in behavior(_decode(decode, raw), context):
                    yield response
            except Exception as raised:
                if _is_abort(raised):
                    raise
                error = status.from_exception(raised, method)
                self._log_call(method, error.code, started, metadata)
                logged = True
                await status.abort(context, error)
            except BaseException:
                outcome = _cut_short(context)
                raise
            finally:
                if not logged:
                    self._log_call(method, outcome, started, metadata)

        return wrapped

    def _log_call(self, method: str, outcome: str, started: float, metadata: Any) -> None:
        """One line per RPC (as ``ServerConfig.access_log`` says), and its metrics."""
        seconds = time.perf_counter() - started
        metrics.observe(method, outcome, seconds)
        if self._access_log == "off" or (self._access_log == "errors" and outcome == "OK"):
            return
        if log.isEnabledFor(logging.INFO):
            principal = current_principal.get(None)
            log.info(
                "rpc method=%s code=%s duration_ms=%.2f caller=%s request_id=%s",
                method,
                outcome,
                seconds * 1000,
                principal.key_id if principal else "-",
                _request_id(metadata),
            )


def _open(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """An open method (health, reflection) as gRPC serves it, but for a
    request that does not decode: INVALID_ARGUMENT rather than gRPC's UNKNOWN;
    and a method gRPC's servicer lacks (Health.List) answers UNIMPLEMENTED
    without a stack in the log."""
    decode = handler.request_deserializer
    answer, stream_to, chat = handler.unary_unary, handler.unary_stream, handler.stream_stream
    if answer is not None:

        async def unary(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            try:
                request = _decode(decode, raw)
            except InvalidArgument as error:
                await status.abort(context, error)
            try:
                return await answer(request, context)
            except NotImplementedError:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not implemented!")

        return grpc.unary_unary_rpc_method_handler(
            unary, response_serializer=handler.response_serializer
        )
    if stream_to is not None and not inspect.isasyncgenfunction(stream_to):
        # (Health.Watch writes to its context rather than yielding.)

        async def stream(raw: bytes, context: grpc.aio.ServicerContext) -> None:
            try:
                request = _decode(decode, raw)
            except InvalidArgument as error:
                await status.abort(context, error)
            await stream_to(request, context)

        return grpc.unary_stream_rpc_method_handler(
            stream, response_serializer=handler.response_serializer
        )
    if chat is not None and inspect.isasyncgenfunction(chat):

        async def bidi(
            raws: AsyncIterator[bytes], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            async def requests() -> AsyncIterator[Any]:
                async for raw in raws:
                    try:
                        yield _decode(decode, raw)
                    except InvalidArgument as error:
                        await status.abort(context, error)

            async for response in chat(requests(), context):
                yield response

        return grpc.stream_stream_rpc_method_handler(
            bidi, response_serializer=handler.response_serializer
        )
    return handler


def _decode(decode: Any, raw: bytes) -> Any:
    """The request message of ``raw``; INVALID_ARGUMENT if it does not decode."""
    if decode is None:
        return raw
    try:
        return decode(raw)
    except DecodeError as error:
        raise InvalidArgument(f"the request does not decode: {error}") from None


# The server learns a deadline as a timeout counted from when the call
# arrived, so its clock runs a little behind the client's: a client that
# gives up at its deadline is seen to leave just before the server's.
DEADLINE_SLACK = 0.25


def _cut_short(context: grpc.aio.ServicerContext) -> str:
    """Why a call was stopped from outside (the task cancelled, the generator
    closed): its deadline passed, or its client went away."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= DEADLINE_SLACK:
        return "DEADLINE_EXCEEDED"
    return "CANCELLED"


def _is_abort(error: BaseException) -> bool:
    # context.abort raises this to end the call; it must pass through.
    return isinstance(error, grpc.aio.AbortError) and not isinstance(error, BentoError)


def _request_id(metadata: Any) -> str:
    """The caller's x-request-id, or a new one, to find the call in the logs."""
    for key, value in metadata or ():
        if key == "x-request-id" and isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return uuid.uuid4().hex
