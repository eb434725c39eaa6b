#!/usr/bin/env bash
# CI: Node and npm for the TypeScript client's tests, from Debian's own
# packages, on a machine that has no node yet (one that has keeps its own).
set -euo pipefail

if command -v node >/dev/null 2>&1; then
  echo "--- node $(node --version) already installed"
  exit 0
fi

echo "--- installing nodejs and npm"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
node --version
npm --version
