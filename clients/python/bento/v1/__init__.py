"""Generated stubs of the bento.v1 protos. Rebuild with `make gen`."""
