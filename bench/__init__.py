"""Bento's benchmarks: `make bench`."""
