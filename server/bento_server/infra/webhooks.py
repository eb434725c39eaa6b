"""The webhook sender of `bento serve`: fans the event log out to endpoints
and POSTs what is due (usecases.webhook_deliveries says how deliveries are
made, claimed and recorded).

One task per server, woken by the event feed when the log grows (and when
a send ends), and looking every ``poll_interval`` seconds otherwise, for
retries that fell due and work other replicas left. Each claimed delivery
is sent by a task of its own, so a slow endpoint never holds up another,
with one shared HTTP client: 10 s timeout, no redirects, a bounded pool.
The address is checked again after DNS before every attempt.

Bodies are the event as its endpoint's owner sees it through ListEvents,
in the protobuf JSON mapping, signed by the Standard Webhooks scheme.
Secrets are opened only to sign, and never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from google.protobuf import json_format
from standardwebhooks.webhooks import Webhook

from bento_server.infra import metrics
from bento_server.infra.feed import EventFeed
from bento_server.services.messages.events import event_pb
from bento_server.usecases import webhook_deliveries
from bento_server.usecases.context import Deps
from bento_server.usecases.webhook_deliveries import Outcome, Outgoing
from bento_server.usecases.webhook_urls import unsafe_destination

log = logging.getLogger("bento.webhooks")
# httpx logs every request it makes at INFO: one line per attempt, with its
# URL, would drown the log. Outcomes are in the deliveries and the metrics.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

TIMEOUT = 10.0
# Sends in flight on one server at once: the HTTP pool's size.
MAX_IN_FLIGHT = 64
USER_AGENT = "Bento-Webhooks/1"
# Seconds between updates of the retry backlog gauge.
BACKLOG_INTERVAL = 5.0


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=TIMEOUT,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=16),
        headers={"user-agent": USER_AGENT},
    )


def body_of(outgoing: Outgoing) -> str:
    """The event in the protobuf JSON mapping, on one line."""
    return json_format.MessageToJson(event_pb(outgoing.event), indent=None)


def signed_headers(outgoing: Outgoing, body: str, sent_at: datetime) -> dict[str, str]:
    """Standard Webhooks headers: ``webhook-timestamp`` is the wall clock's
    (receivers check it against their own), and during a rotation's overlap
    the signature of each secret, the current first."""
    signatures = " ".join(
        Webhook(secret).sign(outgoing.message_id, sent_at, body) for secret in outgoing.secrets
    )
    return {
        "content-type": "application/json",
        "webhook-id": outgoing.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
    }


async def post(client: httpx.AsyncClient, outgoing: Outgoing, allow_private: bool) -> Outcome:
    """One attempt: POSTs the delivery and says what came of it."""
    try:
        return await _attempt(client, outgoing, allow_private)
    except Exception as error:
        # Whatever it was, it is an attempt that failed: recorded and
        # retried, not left to hold its lease.
        # Named, not printed: nothing of the request (its signature) may reach the log.
        log.warning(
            "sending webhook delivery %s failed: %s", outgoing.delivery_id, type(error).__name__
        )
        return Outcome(0, f"could not send: {type(error).__name__}", "connection_error")


async def _attempt(client: httpx.AsyncClient, outgoing: Outgoing, allow_private: bool) -> Outcome:
    refused = await unsafe_destination(outgoing.url, allow_private)
    if refused is not None:
        return Outcome(0, f"not sent: {refused}", "refused")
    body = body_of(outgoing)
    sent_at = datetime.fromtimestamp(int(time.time()), UTC)
    headers = signed_headers(outgoing, body, sent_at)
    try:
        # Streamed and closed unread: only the status matters, and an
        # endpoint's long answer must not cost this server its memory.
        async with client.stream("POST", outgoing.url, content=body.encode(), headers=headers) as r:
            status = r.status_code
    except httpx.TimeoutException:
        return Outcome(0, f"no answer within {TIMEOUT:g} s", "timeout")
    except httpx.HTTPError as error:
        return Outcome(0, f"could not send: {type(error).__name__}: {error}", "connection_error")
    if 200 <= status < 300:
        return Outcome(status, "", "delivered")
    return Outcome(status, f"answered HTTP {status}", "http_status")


class WebhookSender:
    def __init__(
        self,
        deps: Deps,
        run: Callable[[Callable[[], Any]], Awaitable[Any]],
        feed: EventFeed,
        committed: Callable[[], None],
        *,
        poll_interval: float = 0.25,
    ) -> None:
        self._deps = deps
        self._run = run  # runs a blocking function off the loop
        self._feed = feed
        self._committed = committed  # this process appended an event
        self._poll_interval = poll_interval
        self._kick = asyncio.Event()
        self._sending: set[asyncio.Task[None]] = set()
        # Sends under way from this server, by endpoint.
        self._per_endpoint: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        # Answers waiting to be recorded, all in one transaction.
        self._answers: list[tuple[Outgoing, Outcome, asyncio.Future[None]]] = []
        self._answered = asyncio.Event()
        self._recorder: asyncio.Task[None] | None = None
        self._seen = 0
        self._backlog_at = 0.0
        self.client = new_client()
        self.closed = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever())
        self._recorder = asyncio.create_task(self._record_forever())

    def wake(self) -> None:
        """Look now: something became due (a retry, a replay)."""
        self._kick.set()

    async def close(self, grace: float = 5.0) -> None:
        """Stops claiming; sends under way get ``grace`` seconds to finish.
        One cut short keeps its lease until it runs out, then goes again."""
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sending:
            _, late = await asyncio.wait(self._sending, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._recorder is not None:
            self._recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recorder
        await self.client.aclose()

    async def _run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.closed:
            self._kick.clear()
            self._seen = self._feed.newest
            try:
                await self._run(functools.partial(webhook_deliveries.fan_out, self._deps))
                room = MAX_IN_FLIGHT - len(self._sending)
                if room > 0:
                    full = frozenset(
                        endpoint_id
                        for endpoint_id, count in self._per_endpoint.items()
                        if count >= webhook_deliveries.MAX_IN_FLIGHT_PER_ENDPOINT
                    )
                    claimed = await self._run(
                        functools.partial(webhook_deliveries.claim, self._deps, room, full)
                    )
                    for outgoing in claimed:
                        self._start(outgoing)
                if loop.time() - self._backlog_at >= BACKLOG_INTERVAL:
                    self._backlog_at = loop.time()
                    backlog = await self._run(
                        functools.partial(webhook_deliveries.retry_backlog, self._deps)
                    )
                    metrics.WEBHOOK_RETRY_BACKLOG.set(sum(backlog.count.values()))
                    # Endpoints that caught up (or went) leave the gauge:
                    # its label set stays as small as the backlog.
                    metrics.WEBHOOK_OLDEST_UNDELIVERED.clear()
                    for endpoint_id, age in backlog.oldest_age.items():
                        metrics.WEBHOOK_OLDEST_UNDELIVERED.labels(endpoint_id).set(age)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook fan-out or claim failed; retrying")
            await self._nap()

    def _start(self, outgoing: Outgoing) -> None:
        endpoint_id = outgoing.endpoint_id
        self._per_endpoint[endpoint_id] = self._per_endpoint.get(endpoint_id, 0) + 1
        task = asyncio.create_task(self._deliver(outgoing))
        self._sending.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._sending.discard(task)
            left = self._per_endpoint.pop(endpoint_id) - 1
            if left:
                self._per_endpoint[endpoint_id] = left

        task.add_done_callback(done)

    async def _nap(self) -> None:
        """Until the log grows past what was looked at, a kick, or the poll."""
        grew = asyncio.ensure_future(self._feed.wait(self._seen, self._poll_interval))
        kicked = asyncio.ensure_future(self._kick.wait())
        try:
            await asyncio.wait({grew, kicked}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (grew, kicked):
                waiter.cancel()
            await asyncio.gather(grew, kicked, return_exceptions=True)

    async def _deliver(self, outgoing: Outgoing) -> None:
        """Sends one delivery; returns once its answer is recorded, so its
        endpoint's place is free only then."""
        outcome = await post(self.client, outgoing, self._deps.webhooks_allow_private)
        recorded: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._answers.append((outgoing, outcome, recorded))
        self._answered.set()
        await recorded

    async def _record_forever(self) -> None:
        """Records the answers that came in since the last commit, together."""
        while True:
            await self._answered.wait()
            self._answered.clear()
            batch, self._answers = self._answers, []
            if not batch:
                continue
            try:
                recorded = await self._run(
                    functools.partial(
                        webhook_deliveries.record_all,
                        self._deps,
                        [(outgoing, outcome) for outgoing, outcome, _ in batch],
                    )
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                # Their leases run out and they go again.
                log.exception("recording %d webhook attempts failed", len(batch))
                recorded = []
            for (outgoing, outcome, _), result in zip(batch, recorded, strict=False):
                metrics.WEBHOOK_DELIVERIES.labels(outcome.kind).inc()
                if result.state == webhook_deliveries.FAILED and outgoing.event.sequence:
                    metrics.WEBHOOK_DELIVERIES.labels("gave_up").inc()
                if result.disabled_endpoint:
                    log.warning(
                        "webhook endpoint %s disabled: nothing delivered for %s",
                        outgoing.endpoint_id,
                        webhook_deliveries.GIVE_UP_AFTER,
                    )
            for _, _, waiting in batch:
                if not waiting.done():
                    waiting.set_result(None)
            if any(result.disabled_endpoint for result in recorded):
                self._committed()  # the disabled event
            self._kick.set()  # their endpoints have room for more


async def send_test(deps: Deps, client: httpx.AsyncClient | None, prepared: Outgoing) -> Outcome:
    """Sends a test message now, with the sender's client if there is one."""
    if client is not None:
        return await post(client, prepared, deps.webhooks_allow_private)
    async with new_client() as own:
        return await post(own, prepared, deps.webhooks_allow_private)
