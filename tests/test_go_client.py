"""The Go client (clients/go): its tests against a real server, and its
generated stubs against the protos."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import toolchains
from tests.support import handed_out, start_server

ROOT = Path(__file__).resolve().parent.parent
GO_CLIENT = ROOT / "clients" / "go"
TOOLS = ("go", "protoc-gen-go", "protoc-gen-go-grpc")


def _require_go() -> None:
    toolchains.require(TOOLS, ".ci/install-go.sh")


def _go(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs a go command through go.sh, which builds offline in GOPATH mode."""
    return subprocess.run(
        [str(GO_CLIENT / "go.sh"), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_go_client_against_a_real_server(tmp_path: Path) -> None:
    """`go vet`, then `go test` of the client's package (its policy against
    misbehaving fake servers) and of the seed's flow against a real server,
    keys from `bento demo`, as the TypeScript client's test does."""
    _require_go()
    vet = _go("vet", "./...")
    assert vet.returncode == 0, vet.stdout + vet.stderr
    database = f"sqlite:///{tmp_path / 'bento.db'}"
    server = start_server(database, tmp_path, test_clock=False)
    try:
        demo = subprocess.run(
            [str(Path(sys.executable).parent / "bento"), "demo", "--database", database],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        keys = dict(line.split("=", 1) for line in demo.stdout.splitlines() if "_KEY=" in line)
        # The suite's log check looks for these keys in the server's log too.
        for credential in keys.values():
            handed_out(credential)
        # -count=1: a cached pass would not have called this server.
        result = _go(
            "test", "-count=1", "-v", "./...", env={"BENTO_ADDRESS": server.address, **keys}
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--- PASS: TestFlow" in result.stdout, result.stdout
    assert "--- SKIP" not in result.stdout, result.stdout


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_go_stubs_match_the_protos(tmp_path: Path) -> None:
    """The committed stubs are what clients/go/generate.sh makes of today's
    protos: a proto changed without regenerating fails here, not in a Go
    user's build."""
    _require_go()
    subprocess.run(
        [str(GO_CLIENT / "generate.sh"), str(tmp_path)],
        env={**os.environ, "BUF": str(Path(sys.executable).parent / "buf")},
        check=True,
        capture_output=True,
        timeout=300,
    )
    fresh, committed = tmp_path / "bentopb", GO_CLIENT / "bentopb"
    names = _files(fresh)
    assert names, "generate.sh wrote nothing"
    assert names == _files(committed), "stub files differ: run clients/go/generate.sh and commit"
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, names, shallow=False)
    assert mismatch == [] and errors == [], (
        f"stale stubs {mismatch}: run clients/go/generate.sh and commit"
    )
