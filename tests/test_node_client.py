"""The Node client's smoke test, against a real server (runs `npm test`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import start_server

NODE = Path(__file__).resolve().parent.parent / "clients" / "node"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_client_smoke(tmp_path: Path) -> None:
    if not (NODE / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE, check=True, timeout=300)
    server = start_server("sqlite:///bento.db", tmp_path, test_clock=False)
    try:
        demo = subprocess.run(
            [str(Path(sys.executable).parent / "bento"), "demo"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        keys = dict(line.split("=", 1) for line in demo.stdout.splitlines() if "_KEY=" in line)
        result = subprocess.run(
            ["node", "--test", "test/"],
            cwd=NODE,
            env={**os.environ, "BENTO_ADDRESS": server.address, **keys},
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 1" in result.stdout and "# skipped 0" in result.stdout
