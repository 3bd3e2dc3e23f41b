"""The transactional outbox's relay, written once for every service.

A service writes each event in the transaction of the change it describes (its outbox
table); a relay publishes what committed:

1. claim a batch of pending rows, oldest first, locked ``FOR UPDATE SKIP LOCKED`` so that
   relays in several processes never take the same row;
2. publish them to their destination with publisher confirms — up to the publisher's
   ``max_in_flight`` awaiting their confirms at once (RabbitMQ keeps the order of one
   channel); rows that fail stay pending;
3. record what happened — published rows marked, the failing row's error noted — in the
   claim's own transaction.

A store that can hold two claims open at once (``overlapping_claims``: each claim on a
connection of its own, ``SKIP LOCKED`` keeping them apart) gets a pipelined drain: the
next batch is claimed and published while the previous batch's outcomes commit, so the
broker is not left idle during the database round trips. Batches are still published one
after another, in claim order.

Delivery is at least once: a relay that dies between the broker's confirm and its commit
leaves the row pending and it is published again; consumers dedupe by event id. While the
broker is unreachable the relay backs off (capped, exponential) and every row stays
pending. Between drains it sleeps until an outbox commit notifies it (``LISTEN``) or the
poll interval passes.

The loop knows two small ports: :class:`OutboxStore` (a service's outbox table: claim,
count, wait for a commit) and :class:`RelayPublisher` (where rows go). Each service keeps
only its store adapter; :class:`AmqpRelayPublisher` serves both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

import aio_pika
from aio_pika.abc import AbstractConnection
from pydantic import ValidationError

from shared_kernel import bus
from shared_kernel.events import EventEnvelope
from shared_kernel.lifecycle import sleep_until_stopped
from shared_kernel.masking import mask_urls_in_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxRow:
    """One pending row: its key in the store, the event (its envelope as a dict, or as the
    JSON text the store holds), and where it goes."""

    key: Any
    envelope: dict[str, Any] | str
    event_type: str = ""
    exchange: str = bus.DOMAIN_EVENTS
    routing_key: str = ""


@dataclass
class ClaimedBatch:
    """Rows claimed (locked) until the claim's transaction ends, and their outcomes."""

    rows: Sequence[OutboxRow]
    published: list[OutboxRow] = field(default_factory=list)
    failed: list[tuple[OutboxRow, str]] = field(default_factory=list)


class OutboxStore(Protocol):
    """A service's outbox table, as the relay needs it.

    A store may declare ``overlapping_claims = True`` (an attribute) when a second claim
    may be opened while the first is still open — on another connection, never returning
    a row the open claim holds — and a claim may be finished (its context exited) by
    another task than the one that opened it. The relay then pipelines its drain."""

    def claim(self, limit: int) -> AbstractAsyncContextManager[ClaimedBatch]:
        """Lock up to ``limit`` pending rows in a transaction; on a normal exit record the
        batch's ``published`` and ``failed`` rows in that transaction and commit. If the
        body raises (or the process dies) it rolls back: the rows stay pending."""
        ...

    async def pending_count(self) -> int: ...

    async def wait_for_commit(self, timeout: float) -> bool:
        """Return True when an outbox commit notified, False after ``timeout``. Start
        listening before the next drain (``listen``) so no commit falls in between."""
        ...

    async def listen(self) -> None: ...

    async def reset(self) -> None:
        """Drop connections after an error; the next call opens new ones."""
        ...

    async def close(self) -> None: ...


class RelayPublisher(Protocol):
    """Confirmed publishing to a named destination.

    A publisher may declare ``max_in_flight`` (an int attribute): how many publishes the
    relay may have awaiting confirms at once without the destination reordering them.
    Without it the relay publishes one at a time."""

    async def publish(self, envelope: EventEnvelope, *, exchange: str,
                      routing_key: str) -> None: ...

    async def close(self) -> None:
        """Drop the connection; the next ``publish`` opens a new one."""
        ...


class RelayObserver(Protocol):
    """What the relay reports to a service's metrics."""

    def published(self, event_type: str) -> None: ...

    def failed(self, event_type: str, reason: str) -> None: ...

    def pending(self, count: int) -> None: ...


class _NoObserver:
    def published(self, event_type: str) -> None:
        return None

    def failed(self, event_type: str, reason: str) -> None:
        return None

    def pending(self, count: int) -> None:
        return None


class BrokerUnavailable(RuntimeError):
    """Publishing failed: the destination is unreachable or did not confirm."""


@dataclass(frozen=True)
class RelaySettings:
    batch_size: int = 500
    poll_interval: float = 5.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0


@dataclass
class RelayResult:
    published: int = 0
    failed: bool = False
    error: str = ""


class AmqpRelayPublisher:
    """:class:`shared_kernel.bus.EventPublisher` (publisher confirms) on a plain, lazily
    opened connection. Not a robust connection: when the broker goes away the relay wants
    the error now, to back off with its rows pending, not a publish that hangs.

    One channel delivers in publish order, so a window of publishes may await their
    confirms together (``max_in_flight``)."""

    max_in_flight = 100

    def __init__(self, amqp_url: str, *, connect_timeout: float = 5.0,
                 publish_timeout: float = 10.0) -> None:
        self._url = amqp_url
        self._connect_timeout = connect_timeout
        self._publish_timeout = publish_timeout
        self._connection: AbstractConnection | None = None
        self._publisher: bus.EventPublisher | None = None
        self._opening = asyncio.Lock()

    async def _ensure(self) -> bus.EventPublisher:
        if self._publisher is not None:
            return self._publisher
        async with self._opening:  # concurrent publishes share one connection
            return await self._open()

    async def _open(self) -> bus.EventPublisher:
        if self._publisher is None:
            connection = await aio_pika.connect(self._url, timeout=self._connect_timeout)
            try:
                self._publisher = await bus.EventPublisher.open(connection)  # type: ignore[arg-type]
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
        return self._publisher

    async def publish(self, envelope: EventEnvelope, *, exchange: str, routing_key: str) -> None:
        publisher = await self._ensure()
        await publisher.publish(envelope, exchange=exchange, routing_key=routing_key,
                                timeout=self._publish_timeout)

    async def close(self) -> None:
        connection, self._connection, self._publisher = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()


class OutboxRelay:
    """Publishes one store's pending rows through one publisher (a *lane*)."""

    def __init__(
        self,
        *,
        store: OutboxStore,
        publisher: RelayPublisher,
        settings: RelaySettings | None = None,
        observer: RelayObserver | None = None,
        name: str = "broker",
    ) -> None:
        self.store = store
        self._publisher = publisher
        self.settings = settings or RelaySettings()
        self._observer = observer or _NoObserver()
        self.name = name
        self.published_total = 0

    async def publish_batch(self) -> int:
        """Claim one batch, publish it, record the outcomes; return how many published.

        Raises :class:`BrokerUnavailable` once the batch's outcomes are committed: the rows
        confirmed before the failure are published, the failing one notes the error."""
        async with self.store.claim(self.settings.batch_size) as batch:
            failure = await self._publish_claimed(batch, probe_first=True)
        self.published_total += len(batch.published)
        if failure is not None:
            await self._unavailable(failure)
        return len(batch.published)

    async def _unavailable(self, failure: Exception) -> NoReturn:
        await self._publisher.close()
        raise BrokerUnavailable(
            f"publish failed: {mask_urls_in_text(repr(failure))[:500]}") from failure

    async def _publish_claimed(self, batch: ClaimedBatch, *, probe_first: bool
                               ) -> Exception | None:
        """Validate and publish a claimed batch, recording each outcome in it; return the
        first publish failure."""
        window = max(1, int(getattr(self._publisher, "max_in_flight", 1)))
        valid: list[tuple[OutboxRow, EventEnvelope]] = []
        for row in batch.rows:
            try:
                valid.append((row, EventEnvelope.model_validate_json(row.envelope)
                              if isinstance(row.envelope, str)
                              else EventEnvelope.model_validate(row.envelope)))
            except ValidationError as exc:
                # Cannot happen for rows the services write; keep it pending, say why,
                # and do not let it block the rest.
                log.error("outbox row has an invalid envelope",
                          extra={"lane": self.name, "row": str(row.key),
                                 "error": str(exc)[:500]})
                batch.failed.append((row, f"invalid envelope: {exc}"[:2000]))
                self._observer.failed(row.event_type, "invalid")
        return await self._publish(batch, valid, window, probe_first=probe_first)

    async def _publish(self, batch: ClaimedBatch,
                       rows: Sequence[tuple[OutboxRow, EventEnvelope]],
                       window: int, *, probe_first: bool = True) -> Exception | None:
        """Publish ``rows`` in order and record each outcome; return the first failure.

        One at a time (``window`` 1), the batch stops at the first failure. With a window,
        the first row goes alone (an unreachable broker fails once, not once per row;
        skipped when ``probe_first`` is false: the previous batch of this drain just went
        through), then up to ``window`` publishes await their confirms at once (a sliding
        window, in order); a row confirmed after a failed one is published all the same —
        it reached the broker — and the failed ones stay pending."""
        if window == 1 or len(rows) <= 1:
            for row, envelope in rows:
                try:
                    await self._publisher.publish(envelope, exchange=row.exchange,
                                                  routing_key=row.routing_key)
                except Exception as exc:
                    self._record_failure(batch, row, envelope, exc)
                    return exc
                batch.published.append(row)
                self._observer.published(envelope.type)
            return None
        failure: Exception | None = None
        if probe_first:
            failure = await self._publish(batch, rows[:1], 1)
            if failure is not None:
                return failure
            rows = rows[1:]
        in_flight = asyncio.Semaphore(window)

        async def publish(row: OutboxRow, envelope: EventEnvelope) -> None:
            async with in_flight:
                await self._publisher.publish(envelope, exchange=row.exchange,
                                              routing_key=row.routing_key)

        outcomes = await asyncio.gather(*(publish(row, envelope) for row, envelope in rows),
                                        return_exceptions=True)
        for (row, envelope), outcome in zip(rows, outcomes, strict=True):
            if outcome is None:
                batch.published.append(row)
                self._observer.published(envelope.type)
            elif isinstance(outcome, Exception):
                failure = failure or outcome
                self._record_failure(batch, row, envelope, outcome)
            else:
                raise outcome  # cancellation and the like: not a publish outcome
        return failure

    def _record_failure(self, batch: ClaimedBatch, row: OutboxRow, envelope: EventEnvelope,
                        error: Exception) -> None:
        batch.failed.append((row, mask_urls_in_text(repr(error))[:2000]))
        self._observer.failed(envelope.type, "publish")

    async def drain_once(self) -> int:
        """Publish until nothing claimable is left; return how many were published."""
        try:
            if getattr(self.store, "overlapping_claims", False):
                return await self._drain_pipelined()
            total = 0
            while True:
                published = await self.publish_batch()
                total += published
                if published < self.settings.batch_size:
                    return total
        finally:
            await self._report_pending()

    async def _drain_pipelined(self) -> int:
        """``drain_once`` for a store with overlapping claims. While batch N publishes,
        batch N+1 is already claimed (when N was full); while N+1 publishes, N's outcomes
        commit. At most three claims are open. Batch N+1 starts publishing only once every
        publish of batch N has its outcome, so rows reach the broker in claim order, as in
        the sequential drain. If batch N's commit fails, batch N+1 is rolled back too (its
        rows stay pending and are published again: at least once, consumers dedupe); a
        claim taken ahead and not needed is released untouched."""
        size = self.settings.batch_size
        total = 0
        recording: asyncio.Task[int] | None = None
        ahead: asyncio.Task[tuple[Any, ClaimedBatch]] | None = asyncio.ensure_future(
            self._open_claim(size))
        probe_first = True
        try:
            while ahead is not None:
                claim, batch = await ahead
                ahead = (asyncio.ensure_future(self._open_claim(size))
                         if len(batch.rows) >= size else None)
                try:
                    failure = await self._publish_claimed(batch, probe_first=probe_first)
                    if recording is not None:
                        previous, recording = recording, None
                        total += await previous
                except BaseException as exc:
                    with contextlib.suppress(Exception):
                        await claim.__aexit__(type(exc), exc, exc.__traceback__)
                    raise
                recording = asyncio.ensure_future(self._record(claim, batch))
                if failure is not None or len(batch.published) < size:
                    previous, recording = recording, None
                    total += await previous
                    if failure is not None:
                        await self._unavailable(failure)
                    return total
                probe_first = False
            return total  # pragma: no cover (the loop returns)
        finally:
            if recording is not None:  # cancelled or failed meanwhile: let it commit
                with contextlib.suppress(Exception):
                    await recording
            if ahead is not None:  # claimed ahead, not published: release it untouched
                with contextlib.suppress(Exception):
                    claim, _ = await ahead
                    await claim.__aexit__(None, None, None)

    async def _open_claim(self, limit: int
                          ) -> tuple[AbstractAsyncContextManager[ClaimedBatch], ClaimedBatch]:
        claim = self.store.claim(limit)
        return claim, await claim.__aenter__()

    async def _record(self, claim: AbstractAsyncContextManager[ClaimedBatch],
                      batch: ClaimedBatch) -> int:
        """Commit a batch's outcomes (the claim's context exits normally)."""
        await claim.__aexit__(None, None, None)
        self.published_total += len(batch.published)
        return len(batch.published)

    async def run_once(self) -> RelayResult:
        """One drain and close, no retries (a ``--once`` command): a failure is reported,
        its rows stay pending."""
        try:
            return RelayResult(published=await self.drain_once())
        except Exception as exc:
            error = mask_urls_in_text(repr(exc))[:500]
            log.warning("outbox relay could not publish; events stay pending",
                        extra={"lane": self.name, "error": error})
            return RelayResult(failed=True, error=error)
        finally:
            await self.close()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, then sleep until notified or the poll interval passes; back off while
        the destination or the database is unreachable. Returns when ``stop`` is set."""
        backoff = self.settings.backoff_initial
        failures = 0
        try:
            while not stop.is_set():
                # Listen before draining, so a commit in between still wakes us.
                with contextlib.suppress(Exception):
                    await self.store.listen()
                try:
                    published = await self.drain_once()
                except Exception as exc:
                    failures += 1
                    log.warning(
                        "outbox relay could not publish; events stay pending",
                        extra={"lane": self.name, "retry": failures, "retry_in_s": backoff,
                               "error": mask_urls_in_text(repr(exc))[:500]},
                    )
                    if not isinstance(exc, BrokerUnavailable):
                        await self.store.reset()  # the database, most likely
                    await sleep_until_stopped(stop, backoff)
                    backoff = min(backoff * 2, self.settings.backoff_max)
                    continue
                if failures:
                    log.info("outbox relay recovered",
                             extra={"lane": self.name, "after_failures": failures})
                backoff, failures = self.settings.backoff_initial, 0
                if published:
                    log.info("outbox events published",
                             extra={"lane": self.name, "count": published})
                await self._wait_for_work(stop)
        finally:
            await self.close()

    async def _wait_for_work(self, stop: asyncio.Event) -> None:
        woken = asyncio.ensure_future(self.store.wait_for_commit(self.settings.poll_interval))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({woken, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (woken, stopped):
                task.cancel()
            for task in (woken, stopped):
                with contextlib.suppress(BaseException):
                    await task
        if woken.done() and not woken.cancelled() and woken.exception() is not None:
            # The listening connection broke: poll meanwhile, reconnect on the next wait.
            log.warning("outbox LISTEN unavailable; polling",
                        extra={"lane": self.name, "error": repr(woken.exception())[:300]})
            await self.store.reset()

    async def _report_pending(self) -> None:
        with contextlib.suppress(Exception):
            self._observer.pending(await self.store.pending_count())

    async def close(self) -> None:
        await self._publisher.close()
        await self.store.close()
