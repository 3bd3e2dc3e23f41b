"""The reports' roll-ups and links (migrations 0008, 0009, 0011, 0012) answer exactly what
a plain aggregation of the raw rows answers: on a generated city (reads inserted out of
order in multi-row statements, ties on the same instant, deletions), for ranges on and
off the hour marks, across the tenant's midnight, from local midnight to local midnight
(the daily roll-ups), shorter than an hour, and in a time zone half an hour off UTC."""

from __future__ import annotations

import asyncio
import importlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from streaming_service.application.reports import ReportRange
from streaming_service.infrastructure.db.models import Recording
from streaming_service.infrastructure.db.models.ai import Detection
from streaming_service.infrastructure.db.partitions import ensure_month_partition

LOCAL_DAYS = importlib.import_module(
    "streaming_service.infrastructure.db.migrations.versions.0012_report_local_days")

T0 = datetime(2026, 5, 10, tzinfo=UTC)
GAP = 120.0

RANGES = [
    (T0, T0 + timedelta(days=3)),                                        # whole hours
    (T0 + timedelta(hours=2, minutes=17, seconds=5),
     T0 + timedelta(days=2, hours=5, minutes=41)),                        # partial ends
    (T0 + timedelta(hours=26, minutes=59), T0 + timedelta(hours=27, minutes=1)),  # < 1 h
    (T0 + timedelta(hours=3), T0 + timedelta(hours=3, minutes=30)),       # on a mark
    (T0 + timedelta(hours=2, minutes=30), T0 + timedelta(hours=27, minutes=30)),  # São
    # Paulo's midnight inside, starting on a half hour
    (T0 - timedelta(days=1), T0 + timedelta(days=5)),                     # beyond the data
    # Local midnights: São Paulo's (UTC-3) whole days, then a partial day after them;
    # Kolkata's (UTC+5:30) whole days.
    (T0 + timedelta(hours=3), T0 + timedelta(days=2, hours=3)),
    (T0 + timedelta(hours=3), T0 + timedelta(days=2, hours=17, minutes=12)),
    (T0 - timedelta(hours=5, minutes=30), T0 + timedelta(days=2, hours=18, minutes=30)),
    (T0 + timedelta(hours=18, minutes=30), T0 + timedelta(days=1, hours=22)),
]


@pytest.fixture(scope="module")
async def city(seed_camera: Any, app_services: Any) -> dict[str, Any]:
    rng = random.Random(11)
    first = await seed_camera(recording_mode="continuous")
    cameras = [first] + [await seed_camera(first.tenant_id, recording_mode="continuous")
                         for _ in range(3)]
    other = await seed_camera(recording_mode="continuous")
    sessions = app_services.sessions
    await ensure_month_partition(app_services.db, T0)
    async with sessions() as session, session.begin():
        await session.execute(text("SELECT ai.ensure_detections_partition(:at)"), {"at": T0})

    plates = [f"{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}C{i % 10}D{i % 7}{i % 5}"
              for i in range(120)]
    reads: list[Detection] = []
    for _ in range(1500):
        cam = rng.choice([*cameras, other])
        at = T0 + timedelta(seconds=rng.uniform(0, 3 * 86400))
        plate = plates[min(int(rng.random() ** 2 * len(plates)), len(plates) - 1)]
        reads.append(Detection(id=uuid.uuid4(), detected_at=at, tenant_id=cam.tenant_id,
                               camera_id=cam.camera_id, plate=plate, plate_style="mercosul",
                               confidence=0.9, reads=1, details={}))
        if rng.random() < 0.03:  # the same car read twice at the same instant
            reads.append(Detection(id=uuid.uuid4(), detected_at=at, tenant_id=cam.tenant_id,
                                   camera_id=rng.choice(cameras).camera_id
                                   if cam is not other else cam.camera_id,
                                   plate=plate, plate_style="mercosul", confidence=0.9,
                                   reads=1, details={}))
    rng.shuffle(reads)  # late reads: every link is made before and after its neighbours
    segments: list[Recording] = []
    for cam in [*cameras, other]:
        at = T0 - timedelta(hours=2)
        while at < T0 + timedelta(days=3, hours=2):
            length = timedelta(seconds=rng.choice([60, 300, 600, 2400]))
            segments.append(Recording(id=uuid.uuid4(), tenant_id=cam.tenant_id,
                                      camera_id=cam.camera_id, started_at=at,
                                      ended_at=at + length, object_key=f"k/{uuid.uuid4()}",
                                      size_bytes=1000))
            at += length + timedelta(seconds=rng.choice([0, 0, 0, 30, 200, 4000]))
    rng.shuffle(segments)
    for chunk in range(0, len(reads), 200):
        async with sessions() as session, session.begin():
            session.add_all(reads[chunk:chunk + 200])
    for chunk in range(0, len(segments), 50):
        async with sessions() as session, session.begin():
            session.add_all(segments[chunk:chunk + 50])
    # Retention and erasure delete reads and segments; their neighbours are linked again.
    gone = rng.sample(reads, 80)
    gone_segments = rng.sample(segments, 15)
    async with sessions() as session, session.begin():
        await session.execute(
            text("DELETE FROM ai.detections WHERE id = ANY(:ids)"),
            {"ids": [d.id for d in gone]})
        await session.execute(
            text("DELETE FROM streaming.recordings WHERE id = ANY(:ids)"),
            {"ids": [s.id for s in gone_segments]})
    return {"tenant": first.tenant_id, "cameras": cameras}


async def _raw_plates(session: Any, tenant: uuid.UUID, period: ReportRange,
                      camera: uuid.UUID | None = None) -> tuple[int, int, int, int]:
    row = (await session.execute(text("""
        SELECT coalesce(sum(n), 0), count(*), count(*) FILTER (WHERE n = 1),
               count(*) FILTER (WHERE n > 1)
          FROM (SELECT plate, count(*) n FROM ai.detections
                 WHERE tenant_id = :t AND detected_at >= :s AND detected_at < :e
                   AND (CAST(:c AS uuid) IS NULL OR camera_id = CAST(:c AS uuid))
              GROUP BY plate) p"""),
        {"t": tenant, "s": period.start, "e": period.end,
         "c": str(camera) if camera else None})).one()
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


async def _raw_traffic(session: Any, tenant: uuid.UUID, period: ReportRange, bucket: str,
                       tz: str) -> dict[str, Any]:
    params = {"t": tenant, "s": period.start, "e": period.end, "tz": tz, "b": bucket}
    series = (await session.execute(text("""
        SELECT date_trunc(:b, detected_at AT TIME ZONE :tz), camera_id, count(*)
          FROM ai.detections WHERE tenant_id = :t AND detected_at >= :s AND detected_at < :e
      GROUP BY 1, 2"""), params)).all()
    heat = (await session.execute(text("""
        SELECT extract(dow FROM detected_at AT TIME ZONE :tz)::int,
               extract(hour FROM detected_at AT TIME ZONE :tz)::int, count(*)
          FROM ai.detections WHERE tenant_id = :t AND detected_at >= :s AND detected_at < :e
      GROUP BY 1, 2"""), params)).all()
    return {
        "series": sorted((b.replace(tzinfo=None).isoformat(timespec="minutes"), c, n)
                         for b, c, n in series),
        "heatmap": sorted((w, h, n) for w, h, n in heat),
        "total": sum(n for _, _, n in series),
    }


async def _raw_availability(session: Any, tenant: uuid.UUID,
                            period: ReportRange) -> dict[uuid.UUID, tuple[float, int]]:
    rows = (await session.execute(text("""
        WITH linked AS (
            SELECT camera_id, started_at, ended_at,
                   lag(ended_at) OVER (PARTITION BY camera_id ORDER BY started_at, id) AS prev_end
              FROM streaming.recordings WHERE tenant_id = :t
        )
        SELECT camera_id,
               sum(extract(epoch FROM least(ended_at, :e) - greatest(started_at, :s))),
               count(*) FILTER (WHERE started_at - prev_end > make_interval(secs => :gap))
          FROM linked WHERE started_at < :e AND ended_at > :s GROUP BY camera_id"""),
        {"t": tenant, "s": period.start, "e": period.end, "gap": GAP})).all()
    return {c: (round(float(s) / 3600.0, 3), int(n)) for c, s, n in rows}


async def test_unique_and_recurring_plates_equal_the_raw_count(
    city: dict[str, Any], app_services: Any
) -> None:
    reports = app_services.reports
    async with app_services.sessions() as session:
        for start, end in RANGES:
            period = ReportRange(start, end)
            got = await reports.plates(city["tenant"], period)
            assert (got.total_reads, got.distinct_plates, got.single_read_plates,
                    got.recurring_plates) == await _raw_plates(session, city["tenant"], period)
            camera = city["cameras"][1].camera_id
            got = await reports.plates(city["tenant"], period, camera_id=camera)
            assert (got.total_reads, got.distinct_plates, got.single_read_plates,
                    got.recurring_plates) == await _raw_plates(
                        session, city["tenant"], period, camera)


@pytest.mark.parametrize("tz", ["America/Sao_Paulo", "Asia/Kolkata"])
async def test_traffic_equals_the_raw_count_in_the_tenants_zone(
    city: dict[str, Any], app_services: Any, tz: str
) -> None:
    async with app_services.sessions() as session, session.begin():
        await session.execute(text("UPDATE streaming.tenants SET timezone = :tz WHERE id = :t"),
                              {"tz": tz, "t": city["tenant"]})
    try:
        async with app_services.sessions() as session:
            for start, end in RANGES:
                period = ReportRange(start, end)
                for bucket in ("hour", "day", "week"):
                    got = await app_services.reports.traffic(city["tenant"], period,
                                                             bucket=bucket)
                    raw = await _raw_traffic(session, city["tenant"], period, bucket, tz)
                    assert got.timezone == tz
                    assert sorted((p["bucket_start"], p["camera_id"], p["reads"])
                                  for p in got.series) == raw["series"]
                    assert [(c["weekday"], c["hour"], c["reads"])
                            for c in got.heatmap] == raw["heatmap"]
                    assert got.total_reads == raw["total"]
                got_plates = await app_services.reports.plates(city["tenant"], period)
                assert (got_plates.total_reads, got_plates.distinct_plates,
                        got_plates.single_read_plates, got_plates.recurring_plates) == \
                    await _raw_plates(session, city["tenant"], period)
            assert await _rollups_off_by(session, city["tenant"]) == {}
    finally:
        async with app_services.sessions() as session, session.begin():
            await session.execute(text(
                "UPDATE streaming.tenants SET timezone = 'America/Sao_Paulo' WHERE id = :t"),
                {"t": city["tenant"]})


async def _rollups_off_by(session: Any, tenant: uuid.UUID) -> dict[str, int]:
    """Per daily roll-up (0012), how many of the tenant's keys differ, roll-up and pending
    changes together, from a recount of its detections in its zone now."""
    off = {}
    for table, keys, counts in LOCAL_DAYS.ROLLUPS:
        cols = ", ".join(keys)
        recount = (f"SELECT {cols}, count(*) AS reads FROM ("  # noqa: S608 (constant SQL)
                   + LOCAL_DAYS.LOCAL_ROWS.format(source="ai.detections",
                                                  where="WHERE s.tenant_id = :t")
                   + f") l WHERE {counts} GROUP BY {cols}")
        kept = (f"SELECT {cols}, sum(reads) FROM (SELECT * FROM {table} UNION ALL "  # noqa: S608
                f"SELECT * FROM {table}_delta) k WHERE tenant_id = :t "
                f"GROUP BY {cols} HAVING sum(reads) <> 0")
        differ = (await session.execute(text(
            f"SELECT count(*) FROM (({recount}) EXCEPT ({kept})"  # noqa: S608 (constant SQL)
            f" UNION ALL (({kept}) EXCEPT ({recount}))) x"),
            {"t": tenant})).scalar()
        if differ:
            off[table] = int(differ)
    return off


async def test_the_daily_roll_ups_equal_a_recount_after_late_reads_and_deletions(
    city: dict[str, Any], app_services: Any
) -> None:
    cam = city["cameras"][1]
    async with app_services.sessions() as session, session.begin():
        session.add(Detection(id=uuid.uuid4(), detected_at=T0 + timedelta(days=1, hours=2),
                              tenant_id=cam.tenant_id, camera_id=cam.camera_id,
                              plate="FLD4E56", plate_style="mercosul", confidence=0.9,
                              reads=1, details={}))
    async with app_services.sessions() as session:
        assert await _rollups_off_by(session, city["tenant"]) == {}
        pending = (await session.execute(text(
            "SELECT count(*) FROM ai.detection_daily_delta WHERE tenant_id = :t"),
            {"t": city["tenant"]})).scalar()
    period = ReportRange(T0 + timedelta(hours=3), T0 + timedelta(days=2, hours=3))
    before = await app_services.reports.plates(city["tenant"], period)
    assert await app_services.reports.fold()
    async with app_services.sessions() as session:
        assert await _rollups_off_by(session, city["tenant"]) == {}
        left = (await session.execute(text(
            "SELECT count(*) FROM ai.detection_daily_delta WHERE tenant_id = :t"),
            {"t": city["tenant"]})).scalar()
        zone = (await session.execute(text(
            "SELECT timezone FROM ai.report_zones WHERE tenant_id = :t"),
            {"t": city["tenant"]})).scalar()
    assert pending and not left, "writers append changes; the fold moves them all"
    assert await app_services.reports.plates(city["tenant"], period) == before
    assert zone == "America/Sao_Paulo"


async def test_a_late_read_and_new_plates_on_a_busy_day_never_deadlock(
    city: dict[str, Any], app_services: Any
) -> None:
    """Three writers of one tenant, day and hour: an open insert, a late read of another
    plate at the same camera (0011 re-links the plate's next read inside the insert), a new
    plate at another camera. With keyed daily roll-ups the last two locked the same rows
    in opposite orders (a deadlock once the first committed); now the new plate waits for
    nobody and the late read only for the first's hourly row of its camera (0008)."""
    cam, other_cam = city["cameras"][0], city["cameras"][2]
    at = T0 + timedelta(days=1, hours=13)

    def read(plate: str, when: datetime, camera: Any) -> Detection:
        return Detection(id=uuid.uuid4(), detected_at=when, tenant_id=camera.tenant_id,
                         camera_id=camera.camera_id, plate=plate, plate_style="mercosul",
                         confidence=0.9, reads=1, details={})

    async def write(detection: Detection) -> None:
        async with app_services.sessions() as session, session.begin():
            await session.execute(text("SET LOCAL lock_timeout = '60s'"))
            session.add(detection)

    await write(read("DLK1A11", at + timedelta(minutes=20), cam))
    async with app_services.sessions() as first, first.begin():
        first.add(read("DLK1A22", at + timedelta(minutes=5), cam))
        await first.flush()
        late = asyncio.create_task(write(read("DLK1A11", at + timedelta(minutes=1), cam)))
        # The new plate commits while the first writer is still open (bounded wait).
        await asyncio.wait_for(write(read("DLK9Z99", at + timedelta(minutes=7), other_cam)),
                               timeout=60)
    await late  # no DeadlockDetected once the first has committed
    async with app_services.sessions() as session:
        assert await _rollups_off_by(session, city["tenant"]) == {}


async def test_a_zone_postgresql_does_not_know_or_reads_as_an_abbreviation_keeps_the_default(
    city: dict[str, Any], app_services: Any
) -> None:
    async with app_services.sessions() as session:
        zones = [(await session.execute(text("SELECT ai.valid_zone(:z)"), {"z": z})).scalar()
                 for z in ("Mars/Olympus_Mons", "CET", "est", "Asia/Kolkata")]
    # PostgreSQL reads CET as a fixed +1 abbreviation, the service as a zone with summer
    # time: the roll-ups are not kept in it, so such a tenant's reports count the reads.
    assert zones == ["America/Sao_Paulo"] * 3 + ["Asia/Kolkata"]


async def test_availability_equals_the_raw_segments(
    city: dict[str, Any], app_services: Any
) -> None:
    async with app_services.sessions() as session:
        for start, end in RANGES:
            period = ReportRange(start, end)
            got = await app_services.reports.availability(city["tenant"], period)
            raw = await _raw_availability(session, city["tenant"], period)
            assert {c["camera_id"]: (c["recording_hours"], c["outages"])
                    for c in got.cameras if c["camera_id"] in raw} == raw
            assert all(c["recording_hours"] == 0 and c["outages"] == 0
                       for c in got.cameras if c["camera_id"] not in raw)


async def test_deleting_every_read_of_a_plate_leaves_no_link_to_it(
    city: dict[str, Any], app_services: Any
) -> None:
    async with app_services.sessions() as session:
        dangling = (await session.execute(text("""
            SELECT count(*) FROM ai.detections d
             WHERE d.tenant_id = :t AND d.prev_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM ai.detections p
                                WHERE p.tenant_id = d.tenant_id AND p.plate = d.plate
                                  AND p.detected_at = d.prev_at)"""),
            {"t": city["tenant"]})).scalar()
    assert dangling == 0


async def test_two_transactions_reading_one_plate_at_once_are_linked_in_turn(
    city: dict[str, Any], app_services: Any
) -> None:
    cam = city["cameras"][0]
    first_at, second_at = T0 + timedelta(days=2, minutes=1), T0 + timedelta(days=2, minutes=2)

    def read(at: datetime) -> Detection:
        return Detection(id=uuid.uuid4(), detected_at=at, tenant_id=cam.tenant_id,
                         camera_id=cam.camera_id, plate="QRS9T87", plate_style="mercosul",
                         confidence=0.9, reads=1, details={})

    first, second = read(first_at), read(second_at)
    async with app_services.sessions() as one, one.begin():
        one.add(first)
        await one.flush()  # holds the plate's lock until it commits

        async def other() -> None:
            async with app_services.sessions() as two, two.begin():
                two.add(second)

        waiting = asyncio.create_task(other())
        # The second read's insert is under way, waiting for the plate's lock.
        for _ in range(600):
            async with app_services.sessions() as probe:
                blocked = (await probe.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND wait_event = 'advisory'"))).scalar()
            if blocked:
                break
            await asyncio.sleep(0.05)
        assert blocked and not waiting.done()
    await waiting
    async with app_services.sessions() as session:
        links = (await session.execute(text(
            "SELECT detected_at, prev_at FROM ai.detections WHERE plate = 'QRS9T87' "
            "AND tenant_id = :t ORDER BY detected_at"), {"t": cam.tenant_id})).all()
    assert [(a, p) for a, p in links] == [(first_at, None), (second_at, first_at)]
