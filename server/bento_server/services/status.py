"""The one place where errors become gRPC statuses.

Every error leaves as a ``google.rpc.Status`` with an ``ErrorInfo`` (domain
``bento``, a reason from ``bento_server.errors``, as each RPC's doc
comment in ``protos/bento/v1/`` lists them) and, for bad arguments, a
``BadRequest`` listing each bad field. Store errors that mean "try again"
(as ``store.errors`` classifies them) become ABORTED (a race between
writers) or UNAVAILABLE (the database could not serve); anything else is a
bug and becomes INTERNAL (logged with its stack).
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from bento_server.errors import Aborted, BentoError, FieldViolation, Unavailable
from bento_server.store.errors import Failure, classify

DOMAIN = "bento"
STATUS_DETAILS_KEY = "grpc-status-details-bin"

# A status travels in trailers, and gRPC clients refuse trailers over 8 KiB
# by default: the caller would get RESOURCE_EXHAUSTED and lose the real
# error. Errors that echo a huge request (a 100k-character value, thousands
# of bad entries) are cut to fit: the message (percent-encoded on the wire)
# and the field violations (base64 on the wire) get a few KiB each.
MAX_MESSAGE_BYTES = 1_000
MAX_FIELD_BYTES = 120
MAX_DESCRIPTION_BYTES = 240
MAX_VIOLATIONS_BYTES = 3_000

log = logging.getLogger("bento.rpc")


def from_exception(error: Exception, method: str) -> BentoError:
    """The caller-facing error for any exception a handler raised."""
    if isinstance(error, BentoError):
        return error
    failure = classify(error)
    if failure in (Failure.CONFLICT, Failure.INTEGRITY):
        # Two writers raced: the database rolled one back, or a unique
        # constraint caught it.
        return Aborted("the object changed while this call ran; retry", "concurrent_modification")
    if failure is Failure.UNAVAILABLE:
        log.warning("store unavailable in %s: %s", method, error)
        return Unavailable("the database is busy or unreachable; retry", "store_unavailable")
    log.exception("unexpected error in %s", method, exc_info=error)
    internal = BentoError("internal error", "internal")
    internal.code = "INTERNAL"
    return internal


def _fit(text: str, budget: int, *, encoded: bool = False) -> str:
    """``text`` cut to ``budget`` bytes (as gRPC percent-encodes it when
    ``encoded``), ending in an ellipsis where it was cut."""

    def cost(char: str) -> int:
        size = len(char.encode("utf-8", "replace"))
        printable = " " <= char <= "~" and char != "%"
        return 3 * size if encoded and not printable else size

    if sum(map(cost, text)) <= budget:
        return text
    used = cost("…")
    for at, char in enumerate(text):
        used += cost(char)
        if used > budget:
            return text[:at] + "…"
    return text


def _bounded(error: BentoError) -> tuple[str, list[FieldViolation]]:
    """The message and the field violations, cut to fit in trailers."""
    violations: list[FieldViolation] = []
    used = 0
    for violation in error.field_violations:
        bounded = FieldViolation(
            _fit(violation.field, MAX_FIELD_BYTES),
            _fit(violation.description, MAX_DESCRIPTION_BYTES),
        )
        used += len(bounded.field.encode()) + len(bounded.description.encode()) + 8
        if used > MAX_VIOLATIONS_BYTES:
            break
        violations.append(bounded)
    left_out = len(error.field_violations) - len(violations)
    note = f" ({left_out} more bad fields not listed)" if left_out else ""
    return _fit(error.message, MAX_MESSAGE_BYTES - len(note), encoded=True) + note, violations


def to_status(error: BentoError) -> status_pb2.Status:
    code = grpc.StatusCode[error.code]
    message, violations = _bounded(error)
    status = status_pb2.Status(code=code.value[0], message=message)
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
    packed = any_pb2.Any()
    packed.Pack(info)
    status.details.append(packed)
    if violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in violations
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
        status.message,
        trailing_metadata=((STATUS_DETAILS_KEY, status.SerializeToString()),),
    )
