"""Webhook delivery to 100 endpoints.

A real server process (``--webhooks-allow-private``) on a fresh database and
one HTTP receiver on 127.0.0.1 in this process, behind 100 endpoints (one
path each). Measured in one run:

- baseline: UpdateSubscription writes one after another, with no endpoint;
- the same writes with 100 endpoints subscribed to their events: the rate
  one server sustains (writes until every endpoint has every event), and
  each delivery's latency, from sending the write to the receiver reading
  the POST.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
from google.protobuf import struct_pb2

from bench import seed
from bench.measure import Rate, basic_auth, summary
from bento.v1 import (
    event_pb2,
    event_pb2_grpc,
    subscription_pb2,
    subscription_pb2_grpc,
    webhook_pb2,
    webhook_pb2_grpc,
)
from tests.support import start_server

ENDPOINTS = 100
WRITES_PER_SECOND = 10


@dataclass(frozen=True)
class Result:
    baseline: Rate
    """Writes per second with no endpoint."""
    with_endpoints: Rate
    """Writes per second until all were delivered; latency per delivery."""
    deliveries: int


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True
    # A hundred endpoints' sends arrive at once: the default backlog of 5
    # would refuse most, and the bench would time retries, not delivery.
    request_queue_size = 1024

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrivals: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        at = time.perf_counter()
        event = json.loads(body)
        event_id = event.get("eventId") or event.get("event_id", "")
        with self.server.lock:
            self.server.arrivals.setdefault((self.path, event_id), at)
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def _writes(
    subs: subscription_pb2_grpc.SubscriptionServiceStub,
    subscription_id: str,
    admin: list[tuple[str, str]],
    count: int,
    spacing: float,
) -> list[float]:
    """Sends ``count`` writes, ``spacing`` seconds apart; when each was sent."""
    sent = []
    for n in range(count):
        metadata = struct_pb2.Struct()
        metadata.update({"n": n})
        sent.append(time.perf_counter())
        await subs.UpdateSubscription(
            subscription_pb2.UpdateSubscriptionRequest(
                subscription_id=subscription_id, metadata=metadata
            ),
            metadata=admin,
        )
        await asyncio.sleep(spacing)
    return sent


async def _measure(address: str, admin: str, receiver: _Receiver, seconds: float) -> Result:
    a = basic_auth(admin)
    async with grpc.aio.insecure_channel(address) as channel:
        subs = subscription_pb2_grpc.SubscriptionServiceStub(channel)
        hooks = webhook_pb2_grpc.WebhookServiceStub(channel)
        events = event_pb2_grpc.EventServiceStub(channel)
        (sub,) = await seed.subscriptions(channel, a, ["bench"])
        # One page of ListEvents maps them back to their events.
        writes = min(max(int(seconds * WRITES_PER_SECOND), 20), 100)

        started = time.perf_counter()
        await _writes(subs, sub.subscription_id, a, writes, 0)
        alone = writes / (time.perf_counter() - started)
        baseline = Rate(per_second=alone, p50_ms=0.0, p99_ms=0.0)

        port = receiver.server_address[1]
        for i in range(ENDPOINTS):
            await hooks.CreateWebhookEndpoint(
                webhook_pb2.CreateWebhookEndpointRequest(
                    url=f"http://127.0.0.1:{port}/e{i}", event_types=["subscription.updated"]
                ),
                metadata=a,
            )
        head = (
            await events.ListEvents(
                event_pb2.ListEventsRequest(subscription_id=sub.subscription_id, page_size=100),
                metadata=a,
            )
        ).events
        after = max(e.sequence for e in head) if head else 0
        started = time.perf_counter()
        sent = await _writes(subs, sub.subscription_id, a, writes, 1 / WRITES_PER_SECOND)
        expected = writes * ENDPOINTS
        deadline = time.perf_counter() + 300
        while len(receiver.arrivals) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        written = [
            e.event_id
            for e in (
                await events.ListEvents(
                    event_pb2.ListEventsRequest(
                        subscription_id=sub.subscription_id,
                        types=["subscription.updated"],
                        after_sequence=after,
                        page_size=100,
                    ),
                    metadata=a,
                )
            ).events
        ]
        sent_at = dict(zip(written, sent, strict=False))
        latencies = [
            at - sent_at[event_id]
            for (_, event_id), at in receiver.arrivals.items()
            if event_id in sent_at
        ]
        with_endpoints = summary(latencies, writes / elapsed)
        return Result(baseline, with_endpoints, len(receiver.arrivals))


def run(database_url: str, workdir: Path, seconds: float) -> Result:
    receiver = _Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    server = start_server(
        database_url, workdir, test_clock=False, extra=("--webhooks-allow-private",)
    )
    try:
        return asyncio.run(_measure(server.address, server.admin_credential, receiver, seconds))
    finally:
        server.stop()
        receiver.shutdown()
