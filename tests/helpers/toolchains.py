"""The toolchains the clients' tests need (Node, Go)."""

from __future__ import annotations

import os
import shutil

import pytest


def require(tools: tuple[str, ...], installer: str) -> None:
    """Skips on a developer's machine without ``tools``, but fails in CI
    (``CI=true``): there a missing toolchain is a broken setup, and a skip
    would let a client go untested without anyone noticing."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed ({installer} installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
