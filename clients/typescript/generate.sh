#!/usr/bin/env bash
# Regenerates src/gen from protos/bento/v1 and the google/rpc protos the
# server's errors carry. Run from anywhere: clients/typescript/generate.sh
# With an argument, writes <dir>/src/gen there instead (the drift test
# compares that with the committed code).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# The venv's by default (`make setup`); a test passes the ones it runs under.
buf="${BUF:-$root/.venv/bin/buf}"
python="${PYTHON:-$root/.venv/bin/python}"
base="${1:-$here}"
base="$(mkdir -p "$base" && cd "$base" && pwd)"

cd "$here"
if [ ! -x node_modules/.bin/protoc-gen-es ]; then
  npm ci --no-audit --no-fund
fi

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT

# No registry is reachable to fetch googleapis from, so the google/rpc
# protos come from the googleapis-common-protos wheel the venv already has.
# Only these three are copied: buf would otherwise compile every proto in
# site-packages.
rpc="$("$python" -c 'import google.rpc.status_pb2 as m, os; print(os.path.dirname(m.__file__))')"
mkdir -p "$stage/rpc/google/rpc"
cp "$rpc/status.proto" "$rpc/error_details.proto" "$rpc/code.proto" "$stage/rpc/google/rpc/"

"$buf" generate "$root/protos" --template buf.gen.yaml --output "$stage/out"
"$buf" generate "$stage/rpc" --template buf.gen.yaml --output "$stage/out"

# Replaced whole, so a file of a deleted proto does not linger.
rm -rf "$base/src/gen"
mkdir -p "$base/src"
mv "$stage/out/src/gen" "$base/src/gen"
