"""The IDs, values and messages the server answered with, so random requests name existing objects often enough to get past validation into the use cases."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from tests.fuzz.rpcs import is_map, is_repeated

F = FieldDescriptor

# Field names whose values say little about an object and only bloat the pool.
_NOT_KEPT = frozenset({"secret", "description", "message", "error_message", "note"})
_KEEP_PER_NAME = 48
# Requests name some values under another field name than answers do.
ALIASES = {
    "feature_code": ("code",),
    "item_id": ("app_id",),
    "tenant_id": ("platform_id", "app_id"),
    "original_payment_id": ("payment_id",),
    "page_token": ("next_page_token",),
}


@dataclass
class Pool:
    """What the server answered (and accepted): values by field name, IDs
    that came together in one object, and whole messages by type, for
    requests to start from. Credentials the tests call with are never
    kept, so no random request revokes them."""

    protected: set[str] = field(default_factory=set)
    by_name: dict[str, list[str]] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    groups: list[dict[str, str]] = field(default_factory=list)
    messages: dict[str, list[Message]] = field(default_factory=dict)

    def keep(self, message: Message) -> None:
        """Keeps a message (a request that went through, or part of an answer)
        as a template for requests to start from."""
        name = message.DESCRIPTOR.full_name
        if name.startswith("google.") or message.ByteSize() > 4_096:
            return
        kept = self.messages.setdefault(name, [])
        if any(message == other for other in kept):
            return
        copy = type(message)()
        copy.CopyFrom(message)
        kept.append(copy)
        del kept[:-_KEEP_PER_NAME]

    def remember(self, name: str, value: str) -> None:
        if not value or len(value) > 200 or value in self.protected or name in _NOT_KEPT:
            return
        values = self.by_name.setdefault(name, [])
        if value in values:
            return
        values.append(value)
        del values[:-_KEEP_PER_NAME]
        if name.endswith("_id") and value not in self.ids:
            self.ids.append(value)
            del self.ids[: -_KEEP_PER_NAME * 4]

    def harvest(self, message: Message, depth: int = 0) -> None:
        """Keeps the strings of an answer (IDs, codes, regions, tokens...)."""
        if depth > 6:
            return
        self.keep(message)
        group: dict[str, str] = {}
        for descriptor, value in message.ListFields():
            if is_map(descriptor):
                value_field = descriptor.message_type.fields_by_name["value"]
                if value_field.type == F.TYPE_MESSAGE:
                    for item in list(value.values())[:20]:
                        self.harvest(item, depth + 1)
            elif descriptor.type == F.TYPE_STRING:
                if is_repeated(descriptor):
                    singular = descriptor.name.removesuffix("s")
                    for item in list(value)[:20]:
                        self.remember(singular, item)
                else:
                    self.remember(descriptor.name, value)
                    if descriptor.name.endswith("_id") and value not in self.protected:
                        group[descriptor.name] = value
                    if descriptor.name.endswith("url") and "code=" in value:
                        for code in parse_qs(urlparse(value).query).get("code", []):
                            self.remember("activation_code", code)
            elif descriptor.type == F.TYPE_MESSAGE:
                items = list(value)[:20] if is_repeated(descriptor) else [value]
                for item in items:
                    self.harvest(item, depth + 1)
        if len(group) >= 2 and group not in self.groups:
            self.groups.append(group)
            del self.groups[:-_KEEP_PER_NAME]

    def candidates(self, name: str) -> list[str]:
        found = list(self.by_name.get(name, []))
        for alias in ALIASES.get(name, ()):
            found.extend(self.by_name.get(alias, []))
        return found
