"""The TypeScript client: it type-checks, runs the seed's flow against a real
server, and its committed generated code is what the protos give."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import toolchains
from tests.support import handed_out, start_server

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "clients" / "typescript"
BIN = Path(sys.executable).parent


def _require_node() -> None:
    toolchains.require(("node", "npm"), ".ci/install-node.sh")


def _install() -> None:
    if not (CLIENT / "node_modules").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENT, check=True, timeout=300
        )


def test_typescript_client_flow(tmp_path: Path) -> None:
    """The client compiles under --strict and does the whole seed flow (plans,
    subscribe, pay, activation codes, access, events listed and watched,
    refusals, a retried mutation) against a server of this tree."""
    _require_node()
    _install()
    tsc = subprocess.run(
        [str(CLIENT / "node_modules" / ".bin" / "tsc"), "-p", ".", "--strict"],
        cwd=CLIENT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert tsc.returncode == 0, tsc.stdout + tsc.stderr

    database = f"sqlite:///{tmp_path / 'bento.db'}"
    server = start_server(database, tmp_path, test_clock=False)
    try:
        demo = subprocess.run(
            [str(BIN / "bento"), "demo", "--database", database],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        keys = dict(line.split("=", 1) for line in demo.stdout.splitlines() if "_KEY=" in line)
        # The suite's log check looks for these keys in the server's log too.
        for credential in keys.values():
            handed_out(credential)
        result = subprocess.run(
            ["node", "--test", "dist/test/flow.test.js"],
            cwd=CLIENT,
            env={**os.environ, "BENTO_ADDRESS": server.address, **keys},
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# pass 3" in result.stdout and "# fail 0" in result.stdout, result.stdout
    assert "# skipped 0" in result.stdout, result.stdout


def test_generated_code_matches_the_protos(tmp_path: Path) -> None:
    """src/gen is committed so the client builds without buf; this fails when
    a proto changed and nobody ran clients/typescript/generate.sh."""
    _require_node()
    _install()
    subprocess.run(
        [str(CLIENT / "generate.sh"), str(tmp_path)],
        env={**os.environ, "BUF": str(BIN / "buf"), "PYTHON": sys.executable},
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    fresh, committed = tmp_path / "src" / "gen", CLIENT / "src" / "gen"
    stale = _differences(filecmp.dircmp(fresh, committed))
    assert stale == [], (
        f"src/gen differs from the protos {stale}: run clients/typescript/generate.sh and commit"
    )


def _differences(compared: filecmp.dircmp[str], under: str = "") -> list[str]:
    # dircmp's own diff_files trusts equal sizes and times: compare contents.
    _, mismatch, errors = filecmp.cmpfiles(
        compared.left, compared.right, compared.common_files, shallow=False
    )
    found = [f"{under}{name}" for name in [*compared.left_only, *compared.right_only]]
    found += [f"{under}{name}" for name in [*mismatch, *errors]]
    for name, sub in sorted(compared.subdirs.items()):
        found += _differences(sub, f"{under}{name}/")
    return found
