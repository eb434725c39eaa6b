#!/usr/bin/env bash
# Runs a go command on clients/go offline, with Debian's Go packages:
#
#   clients/go/go.sh vet ./...
#   clients/go/go.sh test ./...
#
# GOPATH mode, not modules: CI reaches no Go module proxy, so the code builds
# against the sources Debian installs under /usr/share/gocode. In module mode
# a go.mod with replace lines pointing there is not enough: grpc 1.33's own
# go.mod says go 1.11, so its requirements are not pruned, and it names
# modules Debian does not ship (udpa, go-control-plane, uuid); Go wants
# their go.mod files before it builds anything and stops at GOPROXY=off.
# GOPATH mode reads only the packages that are imported.
#
# The packages import each other as bento/clients/go/...: a scratch GOPATH
# links that path to this directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
gopath="$(mktemp -d)"
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src/bento/clients"
ln -s "$here" "$gopath/src/bento/clients/go"
# cd through the link: go resolves import paths from $PWD, the linked path.
cd "$gopath/src/bento/clients/go"
export GO111MODULE=off GOFLAGS= GOPROXY=off
export GOPATH="$gopath:${DEBIAN_GOCODE:-/usr/share/gocode}"
go "$@"
