"""Builds the Python stubs of protos/bento/v1 into clients/python/bento/v1.

`make gen` runs it; tests/test_generated_stubs.py runs it into a scratch
folder and fails when the committed stubs differ from what the protos give.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = ROOT / "protos"
STUB_ROOT = ROOT / "clients" / "python"
PACKAGE_INIT = '"""Generated stubs of the bento.v1 protos. Rebuild with `make gen`."""\n'


def generate(out_root: Path) -> None:
    """Writes the stubs of every proto under protos/bento/v1 into out_root/bento/v1."""
    protos = sorted(
        str(p.relative_to(PROTO_ROOT)) for p in (PROTO_ROOT / "bento" / "v1").glob("*.proto")
    )
    package = out_root / "bento" / "v1"
    package.mkdir(parents=True, exist_ok=True)
    for stale in package.glob("*_pb2*.py*"):
        stale.unlink()
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{resources.files('grpc_tools') / '_proto'}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *protos,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    (package / "__init__.py").write_text(PACKAGE_INIT)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else STUB_ROOT)
