"""Report queries at city scale: p50/p95 of each report over a generated data set.

    python tools/benchmarks/reports_bench.py [--detections 10000000] [--cameras 500]
                                             [--days 90] [--segment-seconds 60]
                                             [--recording-days 8] [--runs 15]

Creates a database of its own (migrated to head, dropped at the end), fills it with one
city's data in SQL (``generate_series``, bulk-loaded: see ``_fill``): ``--detections``
plate reads spread over ``--days`` days and ``--cameras`` cameras, plates drawn from a
pool so that some recur, 1 % of them alerts (most acknowledged), and recording segments
of ``--segment-seconds`` over the last ``--recording-days`` days for every camera (2 %
missing); a second tenant gets a tenth as much, so every query has to filter. Then it
runs the streaming service's own report use cases (``application.reports.Reports``,
the API's code path without HTTP) ``--runs`` times each, as the service's runtime role,
and prints a markdown section with every statement's EXPLAIN (ANALYZE, BUFFERS) plan
(also written to ``var/bench/reports.md``). Not a test: bounded, and nothing is left
behind unless ``--keep`` keeps the database (its name is printed) for ``--reuse NAME``,
which migrates it to head (new roll-ups backfill themselves) and measures again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

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
TIMEZONE = "America/Sao_Paulo"


def _migration(name: str) -> Any:
    """A migration module (its file name starts with a digit, so no plain import)."""
    return importlib.import_module(
        f"streaming_service.infrastructure.db.migrations.versions.{name}")


def _fill(admin_url: str, *, city: uuid.UUID, other: uuid.UUID, detections: int,
          cameras: int, days: int, segment_seconds: int, recording_days: int,
          now: datetime) -> dict[str, float]:
    """Generate the data set as the superuser, in bulk: rows are generated into an
    unlogged staging table, then inserted once, in time order, with the triggers off
    (``session_replication_role = replica``) and the secondary indexes dropped; what the
    triggers keep (plate links, recording links, the hourly and total roll-ups) is filled
    by one INSERT … SELECT each with the migrations' own SQL, and the indexes are built
    again. Returns seconds per phase."""
    start = now - timedelta(days=days)
    timings: dict[str, float] = {}
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SET work_mem = '512MB'")
        conn.execute("SET maintenance_work_mem = '1GB'")
        t0 = time.monotonic()
        for tenant, name in ((city, "Cidade"), (other, "Outra")):
            conn.execute("INSERT INTO streaming.tenants (id, name, slug, timezone, is_active) "
                         "VALUES (%s, %s, %s, %s, true)", (tenant, name, name.lower(), TIMEZONE))
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
        # About one row in eleven belongs to the other tenant.
        conn.execute("""
            CREATE UNLOGGED TABLE public.bench_reads AS
            WITH cams AS (
                SELECT tenant_id, array_agg(id ORDER BY name) AS ids
                  FROM streaming.cameras GROUP BY tenant_id
            ), rows AS (
                SELECT CASE WHEN random() < %(city_share)s THEN %(city)s ELSE %(other)s END
                       AS tenant_id,
                       %(start)s + ((g - 1 + random()) / %(total)s) * (%(now)s - %(start)s) AS at,
                       -- A pool of plates: a few recur often, most pass once or twice.
                       floor(power(random(), 2) * %(pool)s)::int AS p
                  FROM generate_series(1, %(total)s) g
            )
            SELECT gen_random_uuid() AS id, r.at, r.tenant_id,
                   c.ids[1 + floor(random() * array_length(c.ids, 1))::int] AS camera_id,
                   chr(65 + p %% 26) || chr(65 + (p / 26) %% 26) || chr(65 + (p / 676) %% 26)
                     || (p / 17576) %% 10 || chr(65 + (p / 175760) %% 10)
                     || lpad(((p * 7) %% 100)::text, 2, '0') AS plate
              FROM rows r JOIN cams c ON c.tenant_id = r.tenant_id
        """, {"city_share": detections / total, "city": city, "other": other,
              "start": start, "now": now, "total": total, "pool": max(1000, detections // 5)})
        timings["generate"] = time.monotonic() - t0

        t0 = time.monotonic()
        dropped = conn.execute("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
              FROM pg_index i
             WHERE i.indrelid IN ('ai.detections'::regclass, 'streaming.recordings'::regclass)
               AND NOT i.indisprimary
        """).fetchall()
        for name, _ in dropped:
            conn.execute(f"DROP INDEX {name}")
        conn.execute("SET session_replication_role = replica")
        # Rows arrive in time order, as a camera's reads do; each linked to its plate's
        # previous two reads, as the trigger links them.
        conn.execute("""
            INSERT INTO ai.detections (id, detected_at, tenant_id, camera_id, plate,
                                       plate_style, confidence, reads, metadata, prev_at,
                                       prev2_at)
            SELECT id, at, tenant_id, camera_id, plate, 'mercosul', 0.8 + random() / 5, 1,
                   '{}'::jsonb, lag(at, 1) OVER w, lag(at, 2) OVER w
              FROM public.bench_reads
            WINDOW w AS (PARTITION BY tenant_id, plate ORDER BY at, id)
          ORDER BY at
        """)
        conn.execute("DROP TABLE public.bench_reads")
        # In hour order, as the trigger adds them while a city's reads arrive.
        conn.execute("""
            INSERT INTO ai.detection_hourly (tenant_id, hour, camera_id, reads)
            SELECT tenant_id, date_trunc('hour', detected_at, 'UTC') AS hour, camera_id, count(*)
              FROM ai.detections GROUP BY 1, 2, 3 ORDER BY hour
        """)
        # The daily roll-ups in the city's days, with the migration's own SQL.
        for statement in _migration("0012_report_local_days").BACKFILL.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        timings["detections"] = time.monotonic() - t0

        t0 = time.monotonic()
        conn.execute("""
            INSERT INTO streaming.recordings (id, tenant_id, camera_id, started_at, ended_at,
                                              object_key, size_bytes, prev_ended_at)
            SELECT id, tenant_id, camera_id, s, e,
                   'k/' || camera_id || '/' || extract(epoch FROM s), %(size)s,
                   lag(e) OVER (PARTITION BY camera_id ORDER BY s, id)
              FROM (SELECT gen_random_uuid() AS id, c.tenant_id, c.id AS camera_id, s,
                           s + make_interval(secs => %(seconds)s) AS e
                      FROM streaming.cameras c,
                           generate_series(%(from)s::timestamptz, %(now)s::timestamptz,
                                           make_interval(secs => %(seconds)s)) s
                     WHERE random() < 0.98) segs
          ORDER BY s
        """, {"from": now - timedelta(days=recording_days), "now": now,
              "seconds": segment_seconds, "size": segment_seconds * 100_000})
        conn.execute(_migration("0009_recording_totals").BACKFILL)
        conn.execute(
            "INSERT INTO streaming.recording_hourly (tenant_id, hour, camera_id, seconds) "
            + _migration("0011_report_rollups").RECORDING_HOURS_SQL.format(
                source="streaming.recordings") + " ORDER BY 2")
        conn.execute("SET session_replication_role = DEFAULT")
        timings["recordings"] = time.monotonic() - t0

        t0 = time.monotonic()
        for _, definition in dropped:
            # The plate search's GIN indexes serve no report and took more than half of
            # the generation's time: the data set is left without them.
            if " USING gin " in definition:
                continue
            # A partitioned table's index reads "ON ONLY" (the parent alone): build it on
            # every partition, as the migration did.
            conn.execute(definition.replace(" ON ONLY ", " ON ", 1))
        timings["indexes"] = time.monotonic() - t0

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
        # Index-only scans need the visibility map, as autovacuum keeps it in production.
        conn.execute("VACUUM ANALYZE")
        timings["vacuum"] = time.monotonic() - t0
    return timings


async def _measure(city: uuid.UUID, now: datetime, runs: int, db_name: str
                   ) -> tuple[list[tuple[str, list[float]]], dict[str, list[str]]]:
    """p50/p95 samples per report, and the EXPLAIN (ANALYZE, BUFFERS) plan of every
    statement each report runs (captured from one more call, then explained)."""
    settings = StreamingSettings(streaming_db_name=db_name, db_pool_size=2)
    engine = create_engine(settings)
    sessions = create_sessionmaker(engine)
    reports = Reports(sessions=sessions, audit=AuditTrail(sessions=sessions, outbox=SqlOutbox()),
                      outage_gap_seconds=max(120.0, 2.0 * settings.segment_seconds))
    async with sessions() as session:
        # A plate seen a few times (the 99th percentile of reads per plate): a car that
        # lives in town, not the one that passes every camera all day.
        plate = (await session.execute(text(
            "SELECT plate FROM (SELECT plate, count(*) n FROM ai.detections WHERE tenant_id ="
            " :t GROUP BY plate) p ORDER BY n DESC OFFSET (SELECT count(DISTINCT plate) / 100"
            " FROM ai.detections WHERE tenant_id = :t) LIMIT 1"), {"t": city})).scalar_one()
    actor = Actor(user_id=uuid.uuid4(), username="bench")
    # What the dashboard asks: whole days of the city, from a local midnight to the
    # midnight after the last day (today included).
    zone = ZoneInfo(TIMEZONE)
    tomorrow = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), clock(0),
                                tzinfo=zone).astimezone(UTC)
    day, week, month = (ReportRange(tomorrow - timedelta(days=d), tomorrow) for d in (1, 7, 30))
    # What an API client may ask: rolling windows ending now (partial days at both ends).
    r_day, r_week, r_month = (ReportRange(now - timedelta(days=d), now) for d in (1, 7, 30))
    cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("traffic, today by hour", lambda: reports.traffic(city, day, bucket="hour")),
        ("traffic, 7 days by day", lambda: reports.traffic(city, week, bucket="day")),
        ("traffic, 30 days by week", lambda: reports.traffic(city, month, bucket="week")),
        ("unique vs recurring plates, 7 days", lambda: reports.plates(city, week)),
        ("unique vs recurring plates, 30 days", lambda: reports.plates(city, month)),
        ("alerts, 30 days", lambda: reports.alerts(city, month)),
        ("availability, 7 days", lambda: reports.availability(city, week)),
        ("plate history, 30 days", lambda: reports.plate_history(
            city, plate, month, offset=0, limit=50, actor=actor)),
        ("rolling: traffic, last 24 h by hour",
         lambda: reports.traffic(city, r_day, bucket="hour")),
        ("rolling: traffic, last 168 h by day",
         lambda: reports.traffic(city, r_week, bucket="day")),
        ("rolling: traffic, last 720 h by week",
         lambda: reports.traffic(city, r_month, bucket="week")),
        ("rolling: unique vs recurring plates, last 168 h", lambda: reports.plates(city, r_week)),
    ]
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        # Reads only: EXPLAIN ANALYZE runs the statement (the audit's outbox insert is a
        # WITH … INSERT).
        upper = statement.upper()
        if upper.lstrip().startswith(("SELECT", "WITH")) and not any(
                f"{verb} " in upper for verb in ("INSERT", "UPDATE", "DELETE")):
            captured.append((statement, parameters))

    out = []
    plans: dict[str, list[str]] = {}
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
            captured.clear()
            event.listen(engine.sync_engine, "before_cursor_execute", capture)
            try:
                await call()
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", capture)
            plans[name] = []
            async with engine.connect() as conn:
                for statement, parameters in list(captured):
                    rows = (await conn.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)).all()
                    plans[name].append("\n".join(r[0] for r in rows))
    finally:
        await engine.dispose()
    return out, plans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--detections", type=int, default=10_000_000)
    parser.add_argument("--cameras", type=int, default=500)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--segment-seconds", type=int, default=60)
    parser.add_argument("--recording-days", type=int, default=8)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", default=None, help="a database kept by an earlier --keep")
    args = parser.parse_args()
    db_name = args.reuse or f"gtv_bench_reports_{uuid.uuid4().hex[:8]}"
    city, other = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC).replace(microsecond=0)
    timings: dict[str, float] = {}
    with contextlib.ExitStack() as stack:
        if not args.reuse:
            if args.keep:
                db_roles.create_database(db_name, base=PG_ADMIN_URL)
                db_roles.bootstrap_roles(db_name, base=PG_ADMIN_URL)
                print(f"keeping database {db_name}", file=sys.stderr, flush=True)
            else:
                stack.enter_context(private_database(db_name))
        from streaming_service.migrate import upgrade

        owner_async = db_roles.database_url(db_name, role=db_roles.STREAMING_OWNER,
                                            driver="asyncpg", base=PG_ADMIN_URL)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(upgrade, owner_async).result(timeout=1800)
        admin = db_roles.database_url(db_name, base=PG_ADMIN_URL)
        if args.reuse:
            with psycopg.connect(admin) as conn:
                city, now = conn.execute(
                    "SELECT t.id, (SELECT max(d.detected_at) FROM ai.detections d) "
                    "FROM streaming.tenants t WHERE t.slug = 'cidade'").fetchone()
        else:
            print(f"generating {args.detections:,} detections …", file=sys.stderr, flush=True)
            timings = _fill(admin, city=city, other=other, detections=args.detections,
                            cameras=args.cameras, days=args.days,
                            segment_seconds=args.segment_seconds,
                            recording_days=args.recording_days, now=now)
        results, plans = asyncio.run(_measure(city, now, args.runs, db_name))
    rows = [
        "## Reports at city scale",
        "",
        f"{args.detections:,} plate reads of one city over {args.days} days and "
        f"{args.cameras} cameras (+10 % in a second tenant), 1 % alerts, "
        f"{args.segment_seconds}-second segments of the last {args.recording_days} days; "
        f"the service's report use cases, {args.runs} runs each after one warm-up. "
        f"Target: p95 ≤ {TARGET_P95_MS:.0f} ms.",
        "",
        f"Machine: {machine_line()}. Generation: "
        + (", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) or "reused") + ".",
        "",
        "| report | p50 ms | p95 ms | max ms | target |",
        "|---|---:|---:|---:|---|",
    ]
    for name, samples in results:
        p95 = percentile(samples, 0.95)
        rows.append(f"| {name} | {percentile(samples, 0.5):.0f} | {p95:.0f} | "
                     f"{max(samples):.0f} | {'met' if p95 <= TARGET_P95_MS else 'missed'} |")
    rows.append("")
    rows.append("The first eight rows are the dashboard's requests: whole days of the city, "
                "from a local midnight to the midnight after the last day (today included). "
                "Their whole days come from the daily roll-ups in the city's zone (migration "
                "0012: reads per camera and day, per local hour, plates' first and second "
                "reads by day); traffic by hour from `ai.detection_hourly`. The rolling "
                "rows are API requests ending now: their partial days come from the hourly "
                "roll-up and the covering `(tenant_id, detected_at)` index, and unique vs "
                "recurring over a range that does not start at a local midnight counts the "
                "linked reads of the whole range (migration 0011). Availability sums "
                "`streaming.recording_hourly` and finds outages through a partial index of "
                "gaps; alerts and plate history read the base tables through their "
                "`(tenant, time)` / `(tenant, plate, time)` indexes. No report statement "
                "uses parallel workers.")
    rows.append("")
    rows.append("### Plans (EXPLAIN (ANALYZE, BUFFERS), one call after the timed runs)")
    for name, statements in plans.items():
        rows.append("")
        rows.append(f"#### {name}")
        for plan in statements:
            rows.extend(["", "```", plan, "```"])
    rows.append("")
    publish_report(rows, ROOT / "var" / "bench" / "reports.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
