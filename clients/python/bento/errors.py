"""The one exception type the client raises."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


class BentoError(Exception):
    """A call that failed: its gRPC code, Bento's reason, and the bad fields.

    ``reason`` is one of the reasons each RPC's doc comment in the protos
    lists (``plan_not_found``, ``invoice_already_paid``, ...);
    ``field_violations`` maps each bad field of the request to what is wrong
    with it.
    """

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        reason: str = "",
        field_violations: dict[str, str] | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            f"{code.name} {reason}: {message}" if reason else f"{code.name}: {message}"
        )
        self.code = code
        self.message = message
        self.reason = reason
        self.field_violations = field_violations or {}
        self.metadata = metadata or {}

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> BentoError:
        code = error.code()  # type: ignore[attr-defined]
        message = error.details() or ""  # type: ignore[attr-defined]
        reason, fields, metadata = "", {}, {}
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        for detail in status.details if status else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields = {v.field: v.description for v in bad.field_violations}
        return cls(code, message, reason, fields, metadata)
