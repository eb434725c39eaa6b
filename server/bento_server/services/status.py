"""The one place where errors become gRPC statuses.

Every error leaves as a ``google.rpc.Status`` with an ``ErrorInfo`` (domain
``bento``, a reason from CONTRACT.md) and, for bad arguments, a
``BadRequest`` listing each bad field. Store errors that mean "try again"
become UNAVAILABLE or ABORTED; anything else is a bug and becomes INTERNAL
(logged with its stack).
"""

from __future__ import annotations

import logging

import grpc
import peewee
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from bento_server.errors import Aborted, BentoError, Unavailable

DOMAIN = "bento"
STATUS_DETAILS_KEY = "grpc-status-details-bin"

log = logging.getLogger("bento.rpc")


def from_exception(error: Exception, method: str) -> BentoError:
    """The caller-facing error for any exception a handler raised."""
    if isinstance(error, BentoError):
        return error
    if isinstance(error, peewee.IntegrityError):
        # A unique constraint caught a race between two writers.
        return Aborted("the object changed while this call ran; retry", "concurrent_modification")
    if isinstance(error, peewee.OperationalError | peewee.InterfaceError):
        text = str(error).lower()
        if "could not serialize" in text or "deadlock" in text:
            return Aborted(
                "the object changed while this call ran; retry", "concurrent_modification"
            )
        log.warning("store unavailable in %s: %s", method, error)
        return Unavailable("the database is busy or unreachable; retry", "store_unavailable")
    log.exception("unexpected error in %s", method, exc_info=error)
    internal = BentoError("internal error", "internal")
    internal.code = "INTERNAL"
    return internal


def to_status(error: BentoError) -> status_pb2.Status:
    code = grpc.StatusCode[error.code]
    status = status_pb2.Status(code=code.value[0], message=error.message)
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
    packed = any_pb2.Any()
    packed.Pack(info)
    status.details.append(packed)
    if error.field_violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.field_violations
            ]
        )
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        status.details.append(packed)
    assert status.code != code_pb2.OK
    return status


async def abort(context: grpc.aio.ServicerContext, error: BentoError) -> None:
    """Ends the call with ``error`` (raises)."""
    status = to_status(error)
    await context.abort(
        grpc.StatusCode[error.code],
        error.message,
        trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
    )
