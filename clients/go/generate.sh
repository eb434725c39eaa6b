#!/usr/bin/env bash
# Regenerates the Go stubs (bentopb/) from protos/ with buf.gen.yaml.
#
#   clients/go/generate.sh            # into clients/go/bentopb
#   clients/go/generate.sh OUT_DIR    # into OUT_DIR/bentopb (the drift test)
#
# The output depends only on the protos and on the buf, protoc-gen-go and
# protoc-gen-go-grpc versions (the venv's buf, Debian's plugins), so a
# second run changes nothing.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/clients/go}"
buf="${BUF:-$root/.venv/bin/buf}"
cd "$root"
"$buf" generate protos --template clients/go/buf.gen.yaml --output "$out"
