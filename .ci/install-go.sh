#!/usr/bin/env bash
# Installs the Go toolchain the Go client (clients/go) builds and tests
# with, from Debian, if it is not there yet. CI reaches package registries
# but no Go module proxy: Debian's packages bring Go, the protoc plugins and
# the sources of grpc-go, protobuf and genproto (under /usr/share/gocode),
# which clients/go/go.sh builds against offline.
set -euo pipefail

# Not golang-goprotobuf-dev: it conflicts with the protobuf 1.5 package.
packages=(
  golang-go
  protoc-gen-go
  protoc-gen-go-grpc
  golang-google-grpc-dev
  golang-google-protobuf-dev
  golang-github-golang-protobuf-1-5-dev
  golang-google-genproto-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "Go toolchain already installed"
  exit 0
fi

echo "--- installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
