"""Bento's Python client package: the generated stubs live in `bento.v1`."""
