"""The Bento server: `bento serve` and friends.

Layers, each importing only the ones below it:

- ``services``: the gRPC transport, one servicer per proto service, plus the
  interceptor that authenticates and turns domain errors into statuses.
- ``usecases``: one function per operation; loads, decides, writes the change
  (and its event) in one transaction.
- ``billing``: pure billing rules; no database, gRPC or wall clock.
- ``store``: Peewee models, the connection and the migrations.
"""
