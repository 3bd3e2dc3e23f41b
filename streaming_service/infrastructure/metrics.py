"""Prometheus metrics of the streaming service (one registry per app, so tests can build
several apps in one process). :class:`StreamingMetrics` is also the adapter of the use
cases' :class:`~streaming_service.domain.ports.StreamTelemetry` port."""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

from streaming_service.domain.stream import StreamFailure

SERVICE = "streaming_service"


@dataclass
class StreamingMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        # Names and labels of the metric contract (docs/observability.md).
        self.requests = Counter(
            "http_requests_total", "HTTP requests",
            ["service", "method", "route", "status"], registry=r,
        )
        self.errors = Counter(
            "gtv_http_errors_total", "HTTP responses with status >= 500",
            ["service", "method", "route"], registry=r,
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request duration",
            ["service", "method", "route"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        # Under several workers (PROMETHEUS_MULTIPROC_DIR) each writes its own value:
        # the streams of the live workers add up; a camera's bitrate is its owner's (a
        # dead worker's values are dropped at the next scrape: forget_dead_workers).
        self.active_streams = Gauge(
            "gtv_streams_active", "Streams this instance's engine is running",
            ["service", "engine"], registry=r, multiprocess_mode="livesum",
        )
        self.stream_restarts = Counter(
            "gtv_stream_restarts_total", "Stream reconnects/restarts reported by the engine",
            ["service", "reason"], registry=r,
        )
        self.stream_failures = Counter(
            "gtv_stream_failures_total", "Streams that failed for good",
            ["service", "reason"], registry=r,
        )
        # Every reason exists from the start (at 0): rate() and the dashboards see the
        # first failure as an increase, not as a new series.
        for reason in StreamFailure:
            self.stream_restarts.labels(SERVICE, reason.value)
            self.stream_failures.labels(SERVICE, reason.value)
        self.stream_bitrate = Gauge(
            "gtv_stream_bitrate_kbps", "Last reported bitrate per camera", ["camera_id"],
            registry=r, multiprocess_mode="livemax",
        )
        self.segments_recorded = Counter(
            "gtv_recording_segments_total", "Recording segments stored", registry=r
        )
        self.segment_failures = Counter(
            "gtv_recording_segment_failures_total", "Segments that could not be stored",
            registry=r,
        )
        self.events_published = Counter(
            "gtv_events_published_total", "Domain events published (broker confirmed)",
            ["type"], registry=r,
        )
        self.event_publish_failures = Counter(
            "gtv_event_publish_failures_total",
            "Failed attempts to publish (relay) or record (outbox) a domain event",
            ["type"], registry=r,
        )
        self._outbox_pending = Gauge(
            "gtv_outbox_pending", "Outbox events not yet published", ["service"], registry=r,
            multiprocess_mode="livemax",
        )
        self.outbox_pending = self._outbox_pending.labels(SERVICE)

    # --- StreamTelemetry (what the use cases report) -------------------------------------

    @staticmethod
    def workers_registry(directory: str | Path) -> CollectorRegistry:
        """Every worker's values, added up (``PROMETHEUS_MULTIPROC_DIR``), the gone
        workers' live gauges dropped first."""
        forget_dead_workers(directory)
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected, path=str(directory))  # type: ignore[no-untyped-call]
        return collected

    def streams_running(self, count: int, *, engine: str) -> None:
        self.active_streams.labels(SERVICE, engine).set(count)

    def stream_bitrate_kbps(self, camera_id: uuid.UUID, kbps: float | None) -> None:
        if kbps is None:
            # Zeroed first: under several workers a removed series keeps its last value
            # in the worker's file (read as 0 from then on, not dropped), which would
            # outlast the stream (or outweigh its next owner's) under "livemax".
            self.stream_bitrate.labels(str(camera_id)).set(0)
            with contextlib.suppress(KeyError):
                self.stream_bitrate.remove(str(camera_id))
        else:
            self.stream_bitrate.labels(str(camera_id)).set(kbps)

    def stream_restarted(self, reason: str) -> None:
        self.stream_restarts.labels(SERVICE, reason).inc()

    def stream_failed(self, reason: str) -> None:
        self.stream_failures.labels(SERVICE, reason).inc()

    def segment_recorded(self) -> None:
        self.segments_recorded.inc()

    def segment_failed(self) -> None:
        self.segment_failures.inc()

    def event_not_recorded(self, event_type: str) -> None:
        self.event_publish_failures.labels(event_type).inc()


def forget_dead_workers(directory: str | Path) -> int:
    """Drop the live gauges of worker processes that are gone (uvicorn replaces a dead
    worker; its files would otherwise count its streams for ever); how many were."""
    forgotten = set()
    for path in Path(directory).glob("gauge_live*_*.db"):
        try:
            pid = int(path.stem.rsplit("_", 1)[1])
            os.kill(pid, 0)
        except ValueError:
            continue
        except ProcessLookupError:
            forgotten.add(pid)
        except PermissionError:  # alive, someone else's
            continue
    for pid in forgotten:
        with contextlib.suppress(FileNotFoundError):  # another worker's scrape got there
            multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    return len(forgotten)
