"""Plate search at city scale: exact, prefix and similar searches over millions of reads.

    python tools/benchmarks/search_bench.py [--rows 10000000] [--days 90] [--cameras 500]

In a database of its own (migrated as the service's is), it generates ``--rows``
detections over the last ``--days`` days and ``--cameras`` cameras of one tenant (plus a
second tenant with a tenth of that, so tenant filtering is real), with plates drawn from
both layouts and a recurring population (some cars pass daily), in monthly partitions,
built by PostgreSQL itself (``INSERT … SELECT generate_series``). It then runs the service's
own search use case (``Detections.search``, the code behind ``GET /api/ai/detections/``:
the page and its total count) for exact, prefix and similar (``~``) queries, with and
without a camera / time window, and reports p50/p95 per kind and the ``EXPLAIN`` plan of
one query per kind, showing which partitions and indexes it touched. Not a test; prints a
markdown section and writes ``var/bench/search.md``. The database is dropped at the end
unless ``--keep`` names it for reuse (then ``--reuse NAME`` skips the generation).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import string
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from streaming_service.application.ai.detections import Detections  # noqa: E402
from streaming_service.domain.ai.watchlist import PlateQuery  # noqa: E402
from streaming_service.infrastructure.db.session import (  # noqa: E402
    create_engine,
    create_sessionmaker,
)
from streaming_service.settings import StreamingSettings  # noqa: E402
from tools import db_roles  # noqa: E402
from tools.benchmarks.common import (  # noqa: E402
    PG_ADMIN_URL,
    machine_line,
    percentile,
    publish_report,
)

TENANT = uuid.UUID("00000000-0000-4000-8000-00000000c175")
OTHER_TENANT = uuid.UUID("00000000-0000-4000-8000-0000000000b2")

# One row per detection; plates: 70 % Mercosul, 30 % old layout; a fifth of the reads come
# from a population of 20 000 recurring cars, the rest are one-off.
GENERATE = """
INSERT INTO ai.detections (id, detected_at, tenant_id, camera_id, plate, plate_style,
                           confidence, reads, metadata, created_at)
SELECT gen_random_uuid(), at, %(tenant)s,
       ('00000000-0000-4000-9000-' || lpad(to_hex((n %% %(cameras)s)::int), 12, '0'))::uuid,
       plate, CASE WHEN substr(plate, 5, 1) ~ '[A-Z]' THEN 'mercosul' ELSE 'old' END,
       0.9, 5, '{}'::jsonb, at
FROM (
  SELECT n, now() - (random() * %(days)s * interval '1 day') AS at,
         CASE WHEN n %% 5 = 0 THEN
           chr(65 + ((n / 5) %% 20000 %% 26)::int) || chr(65 + ((n / 5) %% 20000 / 26 %% 26)::int)
           || chr(65 + ((n / 5) %% 20000 / 676 %% 26)::int) || '1' || chr(65 + ((n / 5) %% 7)::int)
           || lpad(((n / 5) %% 20000 %% 100)::text, 2, '0')
         ELSE
           chr(65 + floor(random() * 26)::int) || chr(65 + floor(random() * 26)::int)
           || chr(65 + floor(random() * 26)::int) || floor(random() * 10)::int::text
           || CASE WHEN random() < 0.7 THEN chr(65 + floor(random() * 26)::int)
                   ELSE floor(random() * 10)::int::text END
           || lpad(floor(random() * 100)::int::text, 2, '0')
         END AS plate
  FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n
) AS generated
"""


def _random_plate(rng: random.Random) -> str:
    letters = "".join(rng.choice(string.ascii_uppercase) for _ in range(3))
    fifth = rng.choice(string.ascii_uppercase) if rng.random() < 0.7 else str(rng.randrange(10))
    return f"{letters}{rng.randrange(10)}{fifth}{rng.randrange(100):02d}"


def _generate(url: str, rows: int, days: int, cameras: int) -> float:
    started = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT ai.ensure_detections_partitions_ahead(0)")
        month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        for back in range(days // 28 + 2):
            conn.execute("SELECT ai.ensure_detections_partition(%s)",
                         [month - timedelta(days=28 * back)])
        chunk = 1_000_000
        # The reports' plate links (migration 0011: a row trigger, two index probes per
        # read) are not what this bench measures and would slow the load several times
        # over: off while loading, so those columns stay empty here (reports_bench fills
        # them).
        conn.execute("ALTER TABLE ai.detections DISABLE TRIGGER detection_prev_link")
        # Loading into seven indexes (two of them GIN) row by row is several times slower
        # than building them afterwards: the search indexes (not the primary key) are
        # dropped for the load and recreated, exactly as the migrations define them.
        indexes = conn.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'ai' "
            "AND i.tablename = 'detections' AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)").fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX ai.{}").format(sql.Identifier(name)))
        for tenant, count in ((TENANT, rows), (OTHER_TENANT, rows // 10)):
            for first in range(0, count, chunk):
                conn.execute(GENERATE, {"tenant": tenant, "cameras": cameras, "days": days,
                                        "first": first, "last": min(count, first + chunk) - 1})
                print(f"  generated {min(count, first + chunk):,} rows of {tenant}",
                      file=sys.stderr)
        conn.execute("SET maintenance_work_mem = '512MB'")
        for name, definition in indexes:
            print(f"  building {name}", file=sys.stderr)
            conn.execute(definition.replace(" ON ONLY ", " ON ", 1))
        conn.execute("ALTER TABLE ai.detections ENABLE TRIGGER detection_prev_link")
        conn.execute("VACUUM ANALYZE ai.detections")  # what autovacuum does after a load
    return time.monotonic() - started


def _queries(rng: random.Random, sample_plates: list[str]) -> dict[str, list[dict[str, Any]]]:
    now = datetime.now(UTC)
    camera = uuid.UUID("00000000-0000-4000-9000-000000000007")
    queries: dict[str, list[dict[str, Any]]] = {"exact": [], "prefix": [], "similar": [],
                                                "exact, camera + 7 days": []}
    for _ in range(40):
        known = rng.choice(sample_plates)
        queries["exact"].append({"plate": PlateQuery.parse(rng.choice(
            [known, _random_plate(rng)]))})
        queries["prefix"].append({"plate": PlateQuery.parse(known[:4] + "*")})
        typo = list(known)
        typo[rng.randrange(7)] = rng.choice(string.ascii_uppercase)
        queries["similar"].append({"plate": PlateQuery.parse("~" + "".join(typo))})
        queries["exact, camera + 7 days"].append({
            "plate": PlateQuery.parse(known), "camera_id": camera,
            "start": now - timedelta(days=7), "end": now})
    return queries


async def _measure(settings: StreamingSettings,
                   queries: dict[str, list[dict[str, Any]]]) -> dict[str, list[float]]:
    db = create_engine(settings)
    sessions = create_sessionmaker(db)
    detections = Detections(sessions=sessions, store=None)  # type: ignore[arg-type]

    async def search(call: dict[str, Any]) -> None:
        # the API runs it in the transaction that audits it (AuditTrail.audited_read)
        async with sessions() as session, session.begin():
            await detections.search(session, TENANT, **call)

    timings: dict[str, list[float]] = {}
    try:
        for kind, calls in queries.items():
            for call in calls[:3]:  # warm the cache the way a busy service has it warm
                await search(call)
            for call in calls:
                started = time.perf_counter()
                await search(call)
                timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    finally:
        await db.dispose()
    return timings


def _explain(url: str, plate: str, days: int | None = None) -> list[str]:
    """The plan of the page query for ``plate`` (the use case's SQL shape), trimmed; with
    ``days``, limited to the last ``days`` days (partition pruning: only the partitions
    that window touches are scanned)."""
    query = PlateQuery.parse(plate)
    params: list[Any]
    score, order = sql.SQL("NULL::real"), sql.SQL("")
    if query.kind.name == "EXACT":
        condition, params = sql.SQL("plate = ANY(%s)"), [list(query.forms)]
    elif query.kind.name == "PREFIX":
        condition = sql.SQL(" OR ").join([sql.SQL("plate LIKE %s")] * len(query.forms))
        params = [f + "%" for f in query.forms]
    else:
        score = sql.SQL("greatest({})").format(sql.SQL(", ").join(
            [sql.SQL("similarity(plate, {})").format(sql.Literal(f)) for f in query.forms]))
        order = sql.SQL("score DESC, ")
        if query.neighbour_keys:
            condition = sql.SQL("plate_keys && %s::text[]")
            params = [list(query.neighbour_keys)]
        else:
            condition = sql.SQL(" OR ").join([sql.SQL("plate %% %s")] * len(query.forms))
            params = list(query.forms)
    window = sql.SQL("")
    if days is not None:
        window = sql.SQL(" AND detected_at >= now() - make_interval(days => %s)")
        params.append(days)
    # The use case's page query (Detections.search): the plate's reads found first
    # (a materialized CTE), then sorted; no JIT, no parallel workers.
    statement = sql.SQL(
        "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) WITH matched AS MATERIALIZED "
        "(SELECT *, {} AS score FROM ai.detections WHERE tenant_id = %s AND ({}){}) "
        "SELECT * FROM matched ORDER BY {}detected_at DESC, id LIMIT 50").format(
            score, condition, window, order)
    with psycopg.connect(url) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 0")
        conn.execute("SET jit = off")
        rows = conn.execute(statement, [TENANT, *params]).fetchall()
    return [r[0] for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--cameras", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", default=None, help="a database kept by an earlier --keep")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "bench" / "search.md")
    args = parser.parse_args()
    from streaming_service.migrate import upgrade

    db_name = args.reuse or f"gtv_bench_search_{uuid.uuid4().hex[:8]}"
    owner_url = f"postgresql://postgres@127.0.0.1:5432/{db_name}"
    generated_in = 0.0
    if args.keep:
        print(f"  keeping database {db_name} (reuse it with --reuse {db_name})", file=sys.stderr)
    if not args.reuse:
        db_roles.create_database(db_name, base=PG_ADMIN_URL)
        db_roles.bootstrap_roles(db_name, base=PG_ADMIN_URL)
    try:
        settings = StreamingSettings(streaming_db_name=db_name)
        if not args.reuse:
            upgrade(settings.async_migration_database_url)
            generated_in = _generate(owner_url, args.rows, args.days, args.cameras)
        with psycopg.connect(owner_url) as conn:
            total = conn.execute("SELECT count(*) FROM ai.detections").fetchone()
            sample = [r[0] for r in conn.execute(
                "SELECT plate FROM ai.detections TABLESAMPLE SYSTEM (0.1) WHERE tenant_id = %s "
                "LIMIT 500", [TENANT]).fetchall()]
        rng = random.Random(7)  # noqa: S311 (reproducible query mix, not security)
        queries = _queries(rng, sample)
        timings = asyncio.run(_measure(settings, queries))
        plans = {kind: _explain(owner_url, plate) for kind, plate in
                 (("exact", sample[0]), ("prefix", sample[1][:4] + "*"),
                  ("similar", "~" + sample[2][:6] + "7"))}
        plans["exact, last 7 days (partition pruning)"] = _explain(owner_url, sample[0], days=7)
    finally:
        if not args.keep and not args.reuse:
            db_roles.drop_database(db_name, base=PG_ADMIN_URL)

    rows = [
        f"## Plate search at city scale ({total[0] if total else 0:,} detections, "
        f"{args.days} days, {args.cameras} cameras)",
        "",
        f"- Machine: {machine_line()}",
        f"- Data generated in {generated_in:.0f} s" if generated_in else "- Data reused",
        "- Each query is the search use case behind `GET /api/ai/detections/`: "
        "a page of 50 and the total count",
        "",
        "| query | n | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for kind, values in timings.items():
        rows.append(f"| {kind} | {len(values)} | {percentile(values, 0.5):.1f} | "
                    f"{percentile(values, 0.95):.1f} | {max(values):.1f} |")
    for kind, plan in plans.items():
        rows += ["", f"`EXPLAIN ANALYZE` ({kind}):", "", "```", *plan[:40], "```"]
    rows.append("")
    publish_report(rows, args.out)


if __name__ == "__main__":
    main()
