"""Report queries at city scale: p50/p95 of each report over a generated data set.

    python tools/benchmarks/reports_bench.py [--detections 10000000] [--cameras 200]
                                             [--days 30] [--runs 15]

Creates a database of its own (migrated to head, dropped at the end), fills it with one
city's data in SQL (``generate_series``): ``--detections`` plate reads spread over
``--days`` days and ``--cameras`` cameras, plates drawn from a pool so that some recur,
1 % of them alerts (most acknowledged), and 10-minute recording segments of the last 7
days for every camera; a second tenant gets a tenth as much, so every query has to
filter. Then it runs the streaming service's own report use cases
(``application.reports.Reports``, the API's code path without HTTP) ``--runs`` times
each, as the service's runtime role, and prints a markdown section (also written to
``var/bench/reports.md``). Not a test: bounded, and nothing is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import text  # noqa: E402

from streaming_service.application.audit import Actor, AuditTrail  # noqa: E402
from streaming_service.application.reports import ReportRange, Reports  # noqa: E402
from streaming_service.infrastructure.db.session import (  # noqa: E402
    create_engine,
    create_sessionmaker,
)
from streaming_service.infrastructure.outbox import SqlOutbox  # noqa: E402
from streaming_service.settings import StreamingSettings  # noqa: E402
from tools import db_roles  # noqa: E402
from tools.benchmarks.common import (  # noqa: E402
    PG_ADMIN_URL,
    machine_line,
    percentile,
    private_database,
    publish_report,
)

TARGET_P95_MS = 300.0
BATCH = 1_000_000


def _fill(owner_url: str, *, city: uuid.UUID, other: uuid.UUID, detections: int,
          cameras: int, days: int, now: datetime) -> dict[str, float]:
    """Generate the data set as the schema owner; returns seconds per phase."""
    start = now - timedelta(days=days)
    timings: dict[str, float] = {}
    with psycopg.connect(owner_url, autocommit=True) as conn:
        t0 = time.monotonic()
        for tenant, name in ((city, "Cidade"), (other, "Outra")):
            conn.execute("INSERT INTO streaming.tenants (id, name, slug, timezone, is_active) "
                         "VALUES (%s, %s, %s, 'America/Sao_Paulo', true)",
                         (tenant, name, name.lower()))
        conn.execute("""
            INSERT INTO streaming.cameras (id, tenant_id, name, rtsp_url_encrypted,
                   rtsp_url_masked, recording_mode, retention_days, lpr_enabled, status,
                   latitude, longitude, revision)
            SELECT gen_random_uuid(), CASE WHEN i <= %(cameras)s THEN %(city)s ELSE %(other)s END,
                   'Cam ' || i, 'x', 'rtsp://***', 'continuous', 90, true, 'active',
                   -22.9 + random() / 10, -47.06 + random() / 10, 1
              FROM generate_series(1, %(total)s) i
        """, {"cameras": cameras, "city": city, "other": other,
              "total": cameras + max(1, cameras // 10)})
        month = datetime(start.year, start.month, 1, tzinfo=UTC)
        while month <= now:
            conn.execute("SELECT ai.ensure_detections_partition(%s)", (month,))
            conn.execute("SELECT streaming.ensure_recordings_partition(%s)", (month,))
            month = (month + timedelta(days=32)).replace(day=1)
        timings["setup"] = time.monotonic() - t0

        t0 = time.monotonic()
        total = detections + detections // 10
        done = 0
        while done < total:
            size = min(BATCH, total - done)
            # About one row in eleven belongs to the other tenant.
            conn.execute("""
                WITH cams AS (
                    SELECT tenant_id, array_agg(id ORDER BY name) AS ids
                      FROM streaming.cameras GROUP BY tenant_id
                ), rows AS (
                    SELECT g, CASE WHEN random() < %(city_share)s THEN %(city)s ELSE %(other)s END
                           AS tenant_id,
                           -- Rows arrive in time order, as a camera's reads do.
                           %(start)s + ((g - 1 + random()) / %(total)s) * (%(now)s - %(start)s)
                           AS at,
                           -- A pool of plates: a few recur often, most pass once or twice.
                           floor(power(random(), 2) * %(pool)s)::int AS p
                      FROM generate_series(%(first)s, %(last)s) g
                )
                INSERT INTO ai.detections (id, detected_at, tenant_id, camera_id, plate,
                                           plate_style, confidence, reads, metadata)
                SELECT gen_random_uuid(), r.at, r.tenant_id,
                       c.ids[1 + floor(random() * array_length(c.ids, 1))::int],
                       chr(65 + p %% 26) || chr(65 + (p / 26) %% 26) || chr(65 + (p / 676) %% 26)
                         || (p / 17576) %% 10 || chr(65 + (p / 175760) %% 10)
                         || lpad(((p * 7) %% 100)::text, 2, '0'),
                       'mercosul', 0.8 + random() / 5, 1, '{}'::jsonb
                  FROM rows r JOIN cams c ON c.tenant_id = r.tenant_id
              ORDER BY r.at
            """, {"city_share": detections / total, "city": city, "other": other,
                  "start": start, "now": now, "total": total,
                  "pool": max(1000, detections // 5), "first": done + 1, "last": done + size})
            done += size
            print(f"  … {done:,} / {total:,} detections", file=sys.stderr, flush=True)
        timings["detections"] = time.monotonic() - t0

        t0 = time.monotonic()
        conn.execute("""
            INSERT INTO ai.watchlists (id, tenant_id, name, description, created_at, updated_at)
            VALUES (gen_random_uuid(), %(city)s, 'Roubados', '', now(), now())
        """, {"city": city})
        conn.execute("""
            INSERT INTO ai.alerts (id, tenant_id, detection_id, watchlist_entry_id,
                   watchlist_id, camera_id, plate, severity, reason, status, raised_at,
                   acknowledged_at)
            SELECT gen_random_uuid(), d.tenant_id, d.id, gen_random_uuid(), w.id,
                   d.camera_id, d.plate,
                   (ARRAY['low','medium','high','critical'])[1 + floor(random() * 4)::int], '',
                   CASE WHEN random() < 0.9 THEN 'acknowledged' ELSE 'new' END, d.detected_at,
                   NULL
              FROM ai.detections d JOIN ai.watchlists w ON w.tenant_id = d.tenant_id
             WHERE random() < 0.01
        """)
        conn.execute("UPDATE ai.alerts SET acknowledged_at = raised_at + random() * "
                     "interval '20 minutes' WHERE status = 'acknowledged'")
        timings["alerts"] = time.monotonic() - t0

        t0 = time.monotonic()
        conn.execute("""
            INSERT INTO streaming.recordings (id, tenant_id, camera_id, started_at, ended_at,
                                              object_key, size_bytes)
            SELECT gen_random_uuid(), c.tenant_id, c.id, s, s + interval '10 minutes',
                   'k/' || c.id || '/' || extract(epoch FROM s), 60000000
              FROM streaming.cameras c,
                   generate_series(%(from)s::timestamptz, %(now)s::timestamptz,
                                   interval '10 minutes') s
             WHERE random() < 0.98
        """, {"from": now - timedelta(days=7), "now": now})
        timings["recordings"] = time.monotonic() - t0
        t0 = time.monotonic()
        conn.execute("ANALYZE")
        timings["analyze"] = time.monotonic() - t0
    return timings


async def _measure(city: uuid.UUID, now: datetime, runs: int,
                   db_name: str) -> list[tuple[str, list[float]]]:
    settings = StreamingSettings(streaming_db_name=db_name, db_pool_size=2)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    reports = Reports(sessions=sessions, audit=AuditTrail(sessions=sessions, outbox=SqlOutbox()))
    async with sessions() as session:
        # A plate seen a few times (the 99th percentile of reads per plate): a car that
        # lives in town, not the one that passes every camera all day.
        plate = (await session.execute(text(
            "SELECT plate FROM (SELECT plate, count(*) n FROM ai.detections WHERE tenant_id ="
            " :t GROUP BY plate) p ORDER BY n DESC OFFSET (SELECT count(DISTINCT plate) / 100"
            " FROM ai.detections WHERE tenant_id = :t) LIMIT 1"), {"t": city})).scalar_one()
    actor = Actor(user_id=uuid.uuid4(), username="bench")
    day, week, month = (ReportRange(now - timedelta(days=d), now) for d in (1, 7, 30))
    cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("traffic, 1 day by hour", lambda: reports.traffic(city, day, bucket="hour")),
        ("traffic, 7 days by day", lambda: reports.traffic(city, week, bucket="day")),
        ("traffic, 30 days by week", lambda: reports.traffic(city, month, bucket="week")),
        ("unique vs recurring plates, 7 days", lambda: reports.plates(city, week)),
        ("alerts, 30 days", lambda: reports.alerts(city, month)),
        ("availability, 7 days", lambda: reports.availability(city, week)),
        ("plate history, 30 days", lambda: reports.plate_history(
            city, plate, month, offset=0, limit=50, actor=actor)),
    ]
    out = []
    try:
        for name, call in cases:
            await call()  # warm the cache and the pool
            samples = []
            for _ in range(runs):
                t0 = time.perf_counter()
                await call()
                samples.append((time.perf_counter() - t0) * 1000)
            out.append((name, samples))
            print(f"  {name}: p95 {percentile(samples, 0.95):.0f} ms", file=sys.stderr,
                  flush=True)
    finally:
        await engine.dispose()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detections", type=int, default=10_000_000)
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    db_name = f"gtv_bench_reports_{uuid.uuid4().hex[:8]}"
    city, other = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC).replace(microsecond=0)
    with private_database(db_name):
        from streaming_service.migrate import upgrade

        owner_async = db_roles.database_url(db_name, role=db_roles.STREAMING_OWNER,
                                            driver="asyncpg", base=PG_ADMIN_URL)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(upgrade, owner_async).result(timeout=300)
        owner = db_roles.database_url(db_name, role=db_roles.STREAMING_OWNER, base=PG_ADMIN_URL)
        print(f"generating {args.detections:,} detections …", file=sys.stderr, flush=True)
        timings = _fill(owner, city=city, other=other, detections=args.detections,
                        cameras=args.cameras, days=args.days, now=now)
        results = asyncio.run(_measure(city, now, args.runs, db_name))
    rows = [
        "## Reports at city scale",
        "",
        f"{args.detections:,} plate reads of one city over {args.days} days and "
        f"{args.cameras} cameras (+10 % in a second tenant), 1 % alerts, 10-minute "
        f"segments of the last 7 days; the service's report use cases, {args.runs} runs "
        f"each after one warm-up. Target: p95 ≤ {TARGET_P95_MS:.0f} ms.",
        "",
        f"Machine: {machine_line()}. Generation: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + ".",
        "",
        "| report | p50 ms | p95 ms | max ms | target |",
        "|---|---:|---:|---:|---|",
    ]
    for name, samples in results:
        p95 = percentile(samples, 0.95)
        rows.append(f"| {name} | {percentile(samples, 0.5):.0f} | {p95:.0f} | "
                     f"{max(samples):.0f} | {'met' if p95 <= TARGET_P95_MS else 'missed'} |")
    rows.append("")
    rows.append("Traffic reads whole hours from `ai.detection_hourly` (kept by a trigger) in "
                "one GROUPING SETS pass; unique/recurring plates, alerts, availability and "
                "plate history read the base tables through their `(tenant, time)` / "
                "`(tenant, plate)` indexes.")
    publish_report(rows, ROOT / "var" / "bench" / "reports.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
