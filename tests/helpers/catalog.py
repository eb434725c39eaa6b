"""Catalog requests the catalog tests share."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

from bento.v1 import catalog_pb2, common_pb2
from tests.support import Caller, product_request


def struct(**values: Any) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def cad(cents: int) -> common_pb2.Price:
    return common_pb2.Price(price_in_cents=cents, currency_code="CAD", tier_id=f"ca{cents}")


def create_product(caller: Caller, app_id: str = "", **overrides: Any) -> catalog_pb2.Product:
    return caller(caller.catalog.CreateProduct, product_request(app_id, **overrides)).product
