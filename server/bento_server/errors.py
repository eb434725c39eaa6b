"""Errors as values: a kind, a reason, a message.

The reasons an RPC answers are listed in its doc comment in
``protos/bento/v1/`` ("Returns NOT_FOUND (`plan_not_found`)").

The domain and use cases raise these; ``services.status`` turns them into a
``google.rpc.Status`` with an ``ErrorInfo`` (domain ``bento``) in one place.
The kinds name gRPC's codes but this module does not import gRPC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path and what is wrong with it."""

    field: str
    description: str


class BentoError(Exception):
    """Base of every error a caller may see. Subclasses fix the status code."""

    code = "UNKNOWN"
    default_reason = "unknown"

    def __init__(
        self,
        message: str,
        reason: str | None = None,
        *,
        field_violations: Iterable[FieldViolation] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.field_violations = tuple(field_violations)
        self.metadata = dict(metadata or {})


class InvalidArgument(BentoError):
    code = "INVALID_ARGUMENT"
    default_reason = "invalid_argument"

    @classmethod
    def for_fields(cls, violations: Iterable[FieldViolation]) -> InvalidArgument:
        """One error naming every bad field."""
        violations = tuple(violations)
        names = ", ".join(v.field for v in violations)
        first = violations[0].description if violations else ""
        message = (
            f"invalid {names}: {first}" if len(violations) == 1 else f"invalid fields: {names}"
        )
        return cls(message, field_violations=violations)

    @classmethod
    def field(cls, field: str, description: str, reason: str | None = None) -> InvalidArgument:
        """One bad field."""
        return cls(
            f"invalid {field}: {description}",
            reason,
            field_violations=[FieldViolation(field, description)],
        )


class Unauthenticated(BentoError):
    code = "UNAUTHENTICATED"
    default_reason = "unauthenticated"


class PermissionDenied(BentoError):
    code = "PERMISSION_DENIED"
    default_reason = "permission_denied"


class NotFound(BentoError):
    code = "NOT_FOUND"
    default_reason = "not_found"


class AlreadyExists(BentoError):
    code = "ALREADY_EXISTS"
    default_reason = "already_exists"


class FailedPrecondition(BentoError):
    code = "FAILED_PRECONDITION"
    default_reason = "failed_precondition"


class OutOfRange(BentoError):
    code = "OUT_OF_RANGE"
    default_reason = "out_of_range"


class Aborted(BentoError):
    code = "ABORTED"
    default_reason = "concurrent_modification"


class ResourceExhausted(BentoError):
    code = "RESOURCE_EXHAUSTED"
    default_reason = "resource_exhausted"


class Unavailable(BentoError):
    code = "UNAVAILABLE"
    default_reason = "unavailable"


def not_found(kind: str, object_id: str) -> NotFound:
    """``NOT_FOUND`` with reason ``<kind>_not_found`` ("plan_not_found")."""
    return NotFound(f"{kind.replace('_', ' ')} {object_id!r} not found", f"{kind}_not_found")
