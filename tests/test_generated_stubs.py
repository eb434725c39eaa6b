"""The committed stubs in clients/python/bento/v1 are what the protos give."""

from __future__ import annotations

import filecmp
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load_generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_stubs", ROOT / "tools" / "gen_stubs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stubs_match_the_protos(tmp_path: Path) -> None:
    _load_generator().generate(tmp_path)
    fresh = tmp_path / "bento" / "v1"
    committed = ROOT / "clients" / "python" / "bento" / "v1"
    names = sorted(p.name for p in fresh.iterdir() if p.is_file())
    assert names == sorted(
        p.name for p in committed.iterdir() if p.is_file() and p.suffix != ".pyc"
    ), "stub files differ: run `make gen` and commit"
    _, mismatch, errors = filecmp.cmpfiles(fresh, committed, names, shallow=False)
    assert mismatch == [] and errors == [], f"stale stubs {mismatch}: run `make gen` and commit"
