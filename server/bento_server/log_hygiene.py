"""What the server's log may say, whoever logs it.

Bento never logs a credential, but grpcio does: a header value that is not
UTF-8 makes it log ``Invalid encoding on b'Basic <the whole credential>'``
at ERROR with a traceback, before any Bento code sees the call (which then
answers UNAUTHENTICATED, as for any malformed credential). And a client
that hangs up while its answer is being written makes grpcio log an
``ExecuteBatchError`` traceback at ERROR: the client left, nothing is broken,
and the access log already records the call as CANCELLED.

``install`` puts one filter on every handler of the root logger, so it sees
every record of every library that reaches the log.
"""

from __future__ import annotations

import logging
import re

# "Basic xyz", "Bearer xyz", in any case, as grpcio prints a header value
# (inside b'...' with escapes): everything up to the next quote or space.
_CREDENTIAL = re.compile(r"(?i)\b(basic|bearer)(\s+)[^\s'\"]+")
REDACTED = "[redacted]"


class LogHygiene(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _CREDENTIAL.sub(rf"\1\2{REDACTED}", message)
        if cleaned != message:
            # The traceback too: its frames may hold the value.
            record.msg, record.args, record.exc_info, record.exc_text = cleaned, (), None, None
        if record.name.startswith("grpc") and _client_fault(record):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.exc_info, record.exc_text = None, None
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


def _client_fault(record: logging.LogRecord) -> bool:
    """A record about what a client did, not about anything broken here: a
    header that is not UTF-8 (refused as UNAUTHENTICATED, which the access
    log records), or an answer the client left before it was written."""
    error = record.exc_info[1] if record.exc_info else None
    message = str(record.msg)
    return (
        type(error).__name__ == "ExecuteBatchError"
        or "ExecuteBatchError" in message
        or message.startswith("Invalid encoding on")
    )


def install() -> None:
    hygiene = LogHygiene()
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, LogHygiene) for f in handler.filters):
            handler.addFilter(hygiene)
