"""Reports and analytics of one tenant, aggregated in SQL in the tenant's time zone.

* traffic: plate reads (detections: one per vehicle pass) per camera per hour/day/week, a
  heat map hour-of-day by weekday, the busiest cameras, unique vs recurring plates;
* alerts: by severity and by watchlist, time to acknowledge (median, p90), unacknowledged now;
* availability: per camera, the share of the period covered by recorded segments (for
  continuously recording cameras: the service keeps no stream-state history, and a
  continuous recording is the evidence that the stream was up), the outages (gaps between
  consecutive segments longer than ``outage_gap``), recorded hours, storage and retention;
* plate history: every read of one plate across the tenant's cameras (audited: it tracks
  a person's car).

Every query names the tenant and a time range on the partition key (``detected_at``,
``raised_at``, ``started_at``), so PostgreSQL prunes partitions and uses the
``(tenant, time)`` indexes. Buckets are ``date_trunc`` of the local time
(``AT TIME ZONE``), so a "day" is the city's day, not UTC's. The whole local days of a
range (all of it, for the dashboard's ranges, which run from a local midnight to a
local midnight) are read from daily roll-ups kept in the tenant's zone (migration 0012);
the partial days at either end from the hourly roll-up and the detections.
"""

from __future__ import annotations

import contextlib
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared_kernel.pagination import Page
from streaming_service.application.audit import Actor, AuditTrail

Bucket = Literal["hour", "day", "week"]
DEFAULT_TIMEZONE = "America/Sao_Paulo"
BUSIEST_LIMIT = 10
#: The longest a recorded segment can be (GTV_SEGMENT_SECONDS is at most 3600), with room.
LONGEST_SEGMENT = timedelta(hours=2)


class InvalidReportRange(ValueError):
    """``start`` is not before ``end``, or the range is longer than allowed."""


@dataclass(frozen=True)
class ReportRange:
    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime | None, end: datetime | None, *, now: datetime,
           default: timedelta, max_span: timedelta) -> ReportRange:
        end = end or now
        start = start or end - default
        if start >= end:
            raise InvalidReportRange("start must be before end")
        if end - start > max_span:
            raise InvalidReportRange(f"the range is at most {max_span.days} days")
        return cls(start, end)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True)
class TrafficReport:
    timezone: str
    bucket: Bucket
    series: list[dict[str, Any]]
    heatmap: list[dict[str, Any]]
    busiest: list[dict[str, Any]]
    total_reads: int
    camera_names: dict[uuid.UUID, str]


@dataclass(frozen=True)
class PlatesReport:
    timezone: str
    total_reads: int
    distinct_plates: int
    single_read_plates: int
    recurring_plates: int


@dataclass(frozen=True)
class AlertsReport:
    timezone: str
    total: int
    by_severity: list[dict[str, Any]]
    by_watchlist: list[dict[str, Any]]
    acknowledged: int
    ack_median_seconds: float | None
    ack_p90_seconds: float | None
    unacknowledged_now: int


@dataclass(frozen=True)
class AvailabilityReport:
    timezone: str
    cameras: list[dict[str, Any]]
    storage_bytes_total: int
    recording_hours_total: float


# Reads per camera over time: whole hours from the hourly roll-up (migration 0008, kept by
# a trigger), the partial hours at either end of the range from the detections themselves,
# counted per UTC bin of :bin seconds (a bin lies in one local hour: the zone's offsets are
# multiples of it all through the range). The zone's clock is read once per distinct
# instant (``zoned``), not once per row.
_COUNTS = """
    WITH counts AS (
        SELECT h.camera_id, h.hour AS at, h.reads
          FROM ai.detection_hourly h
         WHERE h.tenant_id = :tenant AND h.hour >= :hours_start AND h.hour < :hours_end
           AND (CAST(:camera AS uuid) IS NULL OR h.camera_id = CAST(:camera AS uuid))
        UNION ALL
        SELECT d.camera_id,
               date_bin(make_interval(secs => :bin), d.detected_at,
                        TIMESTAMPTZ '2000-01-01 00:00:00+00'), count(*)
          FROM ai.detections d
         WHERE d.tenant_id = :tenant
           AND ((d.detected_at >= :start AND d.detected_at < :head_end)
                OR (d.detected_at >= :tail_start AND d.detected_at < :end))
           AND (CAST(:camera AS uuid) IS NULL OR d.camera_id = CAST(:camera AS uuid))
      GROUP BY 1, 2
    ), zoned AS (
        SELECT a.at,
               to_char(date_trunc(:bucket, a.at AT TIME ZONE :tz), 'YYYY-MM-DD"T"HH24:MI')
                   AS bucket_start,
               extract(dow FROM a.at AT TIME ZONE :tz)::int AS weekday,
               extract(hour FROM a.at AT TIME ZONE :tz)::int AS hour
          FROM (SELECT DISTINCT at FROM counts) a
    )
"""


def _with_counts(select: str) -> TextClause:
    """``select`` over the ``counts`` CTE (constant SQL: every value is a bound parameter)."""
    return text(_COUNTS + select)


# One pass over the counts, three groupings: per bucket and camera (the series), per
# weekday and hour (the heat map), per camera (the busiest). Each grouping leaves the
# others' columns NULL, which tells the rows apart (no counted value is ever NULL); the
# series come first, in time and camera order, then the heat map in weekday and hour order.
_TRAFFIC = _with_counts("""
    SELECT z.bucket_start, c.camera_id, z.weekday, z.hour, sum(c.reads)::bigint AS reads
      FROM counts c JOIN zoned z ON z.at = c.at
  GROUP BY GROUPING SETS ((z.bucket_start, c.camera_id), (z.weekday, z.hour), (c.camera_id))
  ORDER BY 1 NULLS LAST, 2, 3, 4
""")

def _kept(table: str, columns: str) -> str:
    """A daily roll-up (migration 0012) with the changes not yet folded into it."""
    return (f"(SELECT {columns}, reads FROM {table} UNION ALL "  # noqa: S608 (constant SQL)
            f"SELECT {columns}, reads FROM {table}_delta)")


_DAILY = _kept("ai.detection_daily", "tenant_id, day, camera_id")
_LOCAL_HOURLY = _kept("ai.detection_local_hourly", "tenant_id, day, hour")
_FIRST_READS = _kept("ai.plate_first_reads", "tenant_id, day, prev_day")
_SECOND_READS = _kept("ai.plate_second_reads", "tenant_id, day, prev_day, prev2_day")

# The same three groupings over whole local days [:first, :last), in the same order: the
# series and the busiest cameras from reads per camera and day, the heat map from reads
# per local hour.
_TRAFFIC_DAYS = text(f"""
    SELECT to_char(b.bucket, 'YYYY-MM-DD"T"HH24:MI') AS bucket_start, b.camera_id,
           NULL::int AS weekday, NULL::int AS hour, b.reads
      FROM (SELECT date_trunc(:bucket, d.day::timestamp) AS bucket, d.camera_id,
                   sum(d.reads)::bigint AS reads
              FROM {_DAILY} d
             WHERE d.tenant_id = :tenant AND d.day >= :first AND d.day < :last
          GROUP BY 1, 2) b
    UNION ALL
    SELECT NULL, d.camera_id, NULL, NULL, sum(d.reads)::bigint
      FROM {_DAILY} d
     WHERE d.tenant_id = :tenant AND d.day >= :first AND d.day < :last
  GROUP BY 2
    UNION ALL
    SELECT NULL, NULL, extract(dow FROM h.day)::int, h.hour::int, sum(h.reads)::bigint
      FROM {_LOCAL_HOURLY} h
     WHERE h.tenant_id = :tenant AND h.day >= :first AND h.day < :last
  GROUP BY 3, 4
  ORDER BY 1 NULLS LAST, 2, 3, 4
""")  # noqa: S608 (constant SQL: the roll-ups' names)

_CAMERA_NAMES = text("SELECT id, name FROM streaming.cameras WHERE tenant_id = :tenant")

# Unique vs recurring over the tenant's cameras, without grouping reads by plate: each
# read carries when its plate was read the time before and the time before that
# (migration 0011, set by a trigger), so a plate's first read in the range is one whose
# previous read is before the range, and its second read one whose previous read is in
# the range but whose read before that is not. One index-only pass over the reads of
# [:reads_from, :end) (the whole range, or its part after the last whole local day).
_PLATES = text("""
    SELECT count(*) AS total_reads,
           count(*) FILTER (WHERE d.prev_at IS NULL OR d.prev_at < :start) AS distinct_plates,
           count(*) FILTER (WHERE d.prev_at >= :start
                              AND (d.prev2_at IS NULL OR d.prev2_at < :start))
               AS recurring_plates
      FROM ai.detections d
     WHERE d.tenant_id = :tenant AND d.detected_at >= :reads_from AND d.detected_at < :end
""")

# The same counts over whole local days [:first, :last) when the range starts at a local
# midnight: a read whose previous read is before the range is one of the day's first
# reads of its plate, and the recurring rule needs only the days of the two reads before.
_PLATES_DAYS = text(f"""
    SELECT (SELECT coalesce(sum(reads), 0) FROM {_DAILY} d
             WHERE tenant_id = :tenant AND day >= :first AND day < :last) AS total_reads,
           (SELECT coalesce(sum(reads), 0) FROM {_FIRST_READS} f
             WHERE tenant_id = :tenant AND day >= :first AND day < :last
               AND prev_day < :first) AS distinct_plates,
           (SELECT coalesce(sum(reads), 0) FROM {_SECOND_READS} s
             WHERE tenant_id = :tenant AND day >= :first AND day < :last
               AND prev_day >= :first AND prev2_day < :first) AS recurring_plates
""")  # noqa: S608 (constant SQL: the roll-ups' names)

# One camera's plates: the links above are tenant-wide (the plate's previous read may be
# at another camera), so a camera's own reads are grouped; they are a few thousand a week.
_CAMERA_PLATES = text("""
    SELECT coalesce(sum(n), 0) AS total_reads, count(*) AS distinct_plates,
           count(*) FILTER (WHERE n > 1) AS recurring_plates
      FROM (SELECT d.plate, count(*) AS n
              FROM ai.detections d
             WHERE d.tenant_id = :tenant AND d.camera_id = :camera
               AND d.detected_at >= :start AND d.detected_at < :end
          GROUP BY d.plate) per_plate
""")

_ALERTS_BY_SEVERITY = text("""
    SELECT a.severity, count(*) AS n
      FROM ai.alerts a
     WHERE a.tenant_id = :tenant AND a.raised_at >= :start AND a.raised_at < :end
  GROUP BY a.severity
""")

_ALERTS_BY_WATCHLIST = text("""
    SELECT a.watchlist_id, w.name AS watchlist_name, count(*) AS n
      FROM ai.alerts a
 LEFT JOIN ai.watchlists w ON w.id = a.watchlist_id AND w.tenant_id = a.tenant_id
     WHERE a.tenant_id = :tenant AND a.raised_at >= :start AND a.raised_at < :end
  GROUP BY a.watchlist_id, w.name
  ORDER BY n DESC, w.name
""")

_ALERTS_ACK = text("""
    SELECT count(*) AS acknowledged,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) AS median,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY waited) AS p90
      FROM (SELECT extract(epoch FROM a.acknowledged_at - a.raised_at) AS waited
              FROM ai.alerts a
             WHERE a.tenant_id = :tenant AND a.raised_at >= :start AND a.raised_at < :end
               AND a.acknowledged_at IS NOT NULL) acked
""")

_ALERTS_UNACKED = text("""
    SELECT count(*) FROM ai.alerts a WHERE a.tenant_id = :tenant AND a.status = 'new'
""")

# Per camera: the recorded seconds inside the range, whole UTC hours from
# streaming.recording_hourly (migration 0011, kept by triggers) and the partial hours at
# either end from the segments themselves (clipped); the outages (segments that start
# more than :gap after the camera's previous segment ended, kept in ``prev_ended_at`` by a
# trigger) through a partial index of the gaps; storage from streaming.recording_totals
# (migration 0009) and the oldest segment from the (camera, started_at) index. A segment
# is at most LONGEST_SEGMENT long (the recorder cuts them at GTV_SEGMENT_SECONDS, at most
# an hour), which bounds the partial hours' scans (skipped when empty, as for a range from
# hour mark to hour mark); the outages look back a day.
_AVAILABILITY = text("""
    WITH parts AS (
        SELECT h.camera_id, h.seconds
          FROM streaming.recording_hourly h
         WHERE h.tenant_id = :tenant AND h.hour >= :hours_start AND h.hour < :hours_end
        UNION ALL
        SELECT r.camera_id,
               extract(epoch FROM least(r.ended_at, :head_end) - greatest(r.started_at, :start))
          FROM streaming.recordings r
         WHERE r.tenant_id = :tenant AND r.started_at < :head_end AND r.ended_at > :start
           AND r.started_at >= CAST(:start AS timestamptz) - make_interval(secs => :longest)
           AND CAST(:head_end AS timestamptz) > CAST(:start AS timestamptz)
        UNION ALL
        SELECT r.camera_id,
               extract(epoch FROM least(r.ended_at, :end) - greatest(r.started_at, :tail_start))
          FROM streaming.recordings r
         WHERE r.tenant_id = :tenant AND r.started_at < :end AND r.ended_at > :tail_start
           AND r.started_at >= CAST(:tail_start AS timestamptz) - make_interval(secs => :longest)
           AND CAST(:end AS timestamptz) > CAST(:tail_start AS timestamptz)
    ), recorded AS (
        SELECT camera_id, sum(seconds) AS recorded_seconds FROM parts GROUP BY camera_id
    ), gaps AS (
        SELECT r.camera_id, count(*) AS outages
          FROM streaming.recordings r
         WHERE r.tenant_id = :tenant AND r.started_at < :end AND r.ended_at > :start
           AND r.started_at >= CAST(:start AS timestamptz) - interval '1 day'
           AND r.started_at - r.prev_ended_at > interval '120 seconds'
           AND r.started_at - r.prev_ended_at > make_interval(secs => :gap)
      GROUP BY r.camera_id
    )
    SELECT c.id AS camera_id, c.name, c.recording_mode, c.retention_days, c.status,
           coalesce(i.recorded_seconds, 0) AS recorded_seconds, coalesce(g.outages, 0) AS outages,
           coalesce(t.size_bytes, 0) AS storage_bytes,
           (SELECT min(r.started_at) FROM streaming.recordings r
             WHERE r.camera_id = c.id) AS oldest
      FROM streaming.cameras c
 LEFT JOIN recorded i ON i.camera_id = c.id
 LEFT JOIN gaps g ON g.camera_id = c.id
 LEFT JOIN streaming.recording_totals t ON t.camera_id = c.id AND t.tenant_id = c.tenant_id
     WHERE c.tenant_id = :tenant AND c.decommissioned_at IS NULL
  ORDER BY c.name
""")

_PLATE_HISTORY = text("""
    SELECT d.id, d.camera_id, c.name AS camera_name, c.latitude, c.longitude,
           d.detected_at, d.confidence, count(*) OVER () AS total
      FROM ai.detections d
 LEFT JOIN streaming.cameras c ON c.id = d.camera_id AND c.tenant_id = d.tenant_id
     WHERE d.tenant_id = :tenant AND d.plate = :plate
       AND d.detected_at >= :start AND d.detected_at < :end
  ORDER BY d.detected_at DESC, d.id
    OFFSET :offset LIMIT :limit
""")

# The tenant's zone, and the zone its daily roll-ups are kept in (the default until the
# tenant's zone is known: migration 0012).
_FOLD = text("SELECT ai.fold_report_days()")

_NO_PARALLEL = text("SET LOCAL max_parallel_workers_per_gather = 0")

_TENANT_TZ = text("""
    SELECT t.timezone, coalesce(z.timezone, :default_zone) AS rollup_zone
      FROM streaming.tenants t LEFT JOIN ai.report_zones z ON z.tenant_id = t.id
     WHERE t.id = :tenant
""")


@dataclass(frozen=True)
class LocalDays:
    """The whole local days ``[first, last)`` inside a range, and the instants their
    first and last midnights are."""
    first: date
    last: date
    first_at: datetime
    last_at: datetime


def local_days(tz: str, period: ReportRange) -> LocalDays | None:
    """The whole days of zone ``tz`` inside ``period``, or None when there is none. A
    midnight that a clock change skips is the instant the day begins (fold 0)."""
    zone = zoneinfo.ZoneInfo(tz)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)

    first = period.start.astimezone(zone).date()
    if midnight(first) < period.start:
        first += timedelta(days=1)
    last = period.end.astimezone(zone).date()
    if midnight(last) > period.end:
        last -= timedelta(days=1)
    if first >= last:
        return None
    return LocalDays(first, last, midnight(first), midnight(last))


@dataclass(frozen=True)
class _TrafficRow:
    bucket_start: str | None
    camera_id: uuid.UUID | None
    weekday: int | None
    hour: int | None
    reads: int


def _sum_rows(rows: Iterable[Any]) -> list[Any]:
    """Rows of the traffic groupings from several parts of a range, added up per key."""
    totals: dict[tuple[Any, Any, Any, Any], int] = {}
    for r in rows:
        key = (r.bucket_start, r.camera_id, r.weekday, r.hour)
        totals[key] = totals.get(key, 0) + int(r.reads)
    return [_TrafficRow(bucket, camera, weekday, hour, reads)
            for (bucket, camera, weekday, hour), reads in totals.items()]


def split_hours(period: ReportRange, *, whole_hours: bool = True) -> dict[str, datetime]:
    """The whole UTC hours inside ``period`` (read from a roll-up) and the partial hours
    at its ends (read from the rows themselves); no roll-up under two hour marks, or when
    ``whole_hours`` is false (everything is read from the rows)."""
    first = period.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if first < period.start:
        first += timedelta(hours=1)
    last = period.end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if first >= last or not whole_hours:
        return {"hours_start": period.start, "hours_end": period.start,
                "head_end": period.end, "tail_start": period.end}
    return {"hours_start": first, "hours_end": last, "head_end": first, "tail_start": last}


def offset_step(tz: str, period: ReportRange) -> int:
    """The longest of an hour, a quarter, a minute and a second that every offset of
    ``tz`` from UTC through ``period`` is a multiple of (checked daily and at both ends):
    a UTC bin that long lies in one local hour. Only at an hour is a local hour one UTC
    hour of the roll-up."""
    zone = zoneinfo.ZoneInfo(tz)
    step = 3600
    at = period.start
    while True:
        offset = at.astimezone(zone).utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 1
        while seconds % step:
            step = {3600: 900, 900: 60}.get(step, 1)
        if at >= period.end or step == 1:
            return step
        at = min(at + timedelta(days=1), period.end)


class Reports:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], audit: AuditTrail,
                 outage_gap_seconds: float = 120.0) -> None:
        self._sessions = sessions
        self._audit = audit
        self._gap = outage_gap_seconds

    async def fold(self) -> bool:
        """Move the daily roll-ups' pending changes into them (migration 0012); False when
        another process is folding them right now."""
        async with self._sessions() as session, session.begin():
            return bool((await session.execute(_FOLD)).scalar())

    @contextlib.asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        """A session for one report, without parallel workers: a report reads roll-ups
        and index ranges of tens of thousands of rows at most, for which starting
        workers costs more than they save (measured: most of an alerts report's time
        on a busy host)."""
        async with self._sessions() as session:
            await session.execute(_NO_PARALLEL)
            yield session

    async def _zone(self, session: AsyncSession, tenant_id: uuid.UUID) -> tuple[str, bool]:
        """The tenant's time zone (the default for a name it does not know), and whether
        the daily roll-ups are kept in it."""
        row = (await session.execute(_TENANT_TZ, {
            "tenant": tenant_id, "default_zone": DEFAULT_TIMEZONE})).one_or_none()
        name = str(row.timezone) if row else DEFAULT_TIMEZONE
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            name = DEFAULT_TIMEZONE
        return name, row is not None and row.rollup_zone == name

    async def _timezone(self, session: AsyncSession, tenant_id: uuid.UUID) -> str:
        return (await self._zone(session, tenant_id))[0]

    @staticmethod
    async def _traffic_rows(session: AsyncSession, params: dict[str, Any], tz: str,
                            period: ReportRange) -> Sequence[Any]:
        """The traffic groupings of ``period`` from the hourly roll-up and the detections."""
        step = offset_step(tz, period)
        return (await session.execute(_TRAFFIC, {
            **params, "start": period.start, "end": period.end, "bin": step,
            **split_hours(period, whole_hours=step == 3600)})).all()

    async def traffic(self, tenant_id: uuid.UUID, period: ReportRange, *, bucket: Bucket,
                      camera_id: uuid.UUID | None = None) -> TrafficReport:
        async with self._read() as session:
            tz, kept = await self._zone(session, tenant_id)
            params = {"tenant": tenant_id, "tz": tz, "bucket": bucket,
                      "camera": str(camera_id) if camera_id else None}
            days = local_days(tz, period) if kept and bucket != "hour" and not camera_id \
                else None
            edges: list[Sequence[Any]] = []
            if days is None:
                rows: Sequence[Any] = await self._traffic_rows(session, params, tz, period)
            else:
                rows = (await session.execute(_TRAFFIC_DAYS, {
                    "tenant": tenant_id, "bucket": bucket, "first": days.first,
                    "last": days.last})).all()
                edges = [await self._traffic_rows(session, params, tz, edge)
                         for edge in (ReportRange(period.start, days.first_at),
                                      ReportRange(days.last_at, period.end))
                         if edge.start < edge.end]
                if edges:
                    rows = _sum_rows([*rows, *(r for edge in edges for r in edge)])
            names: dict[uuid.UUID, str] = {
                r.id: r.name
                for r in (await session.execute(_CAMERA_NAMES, {"tenant": tenant_id})).all()}
        # Each part arrives in order (series by time and camera, then the heat map); parts
        # added up are put in that order again.
        series = [r for r in rows if r.bucket_start is not None]
        heat = [r for r in rows if r.weekday is not None]
        if edges:
            series.sort(key=lambda r: (r.bucket_start, r.camera_id))
            heat.sort(key=lambda r: (r.weekday, r.hour))
        per_camera = sorted(
            (r for r in rows if r.bucket_start is None and r.weekday is None),
            key=lambda r: (-r.reads, names.get(r.camera_id) or ""))
        return TrafficReport(
            timezone=tz, bucket=bucket,
            series=[{"bucket_start": r.bucket_start, "camera_id": r.camera_id,
                     "reads": r.reads} for r in series],
            heatmap=[{"weekday": r.weekday, "hour": r.hour, "reads": r.reads} for r in heat],
            busiest=[{"camera_id": r.camera_id, "camera_name": names.get(r.camera_id),
                      "reads": r.reads} for r in per_camera[:BUSIEST_LIMIT]],
            total_reads=sum(r.reads for r in per_camera), camera_names=names,
        )

    async def plates(self, tenant_id: uuid.UUID, period: ReportRange, *,
                     camera_id: uuid.UUID | None = None) -> PlatesReport:
        """Unique vs recurring plates: over the tenant's cameras a count of linked reads
        (each knows its plate's previous two reads), over one camera its reads grouped."""
        async with self._read() as session:
            tz, kept = await self._zone(session, tenant_id)
            params = {"tenant": tenant_id, "start": period.start, "end": period.end}
            days = local_days(tz, period) if kept and camera_id is None else None
            counts: list[Any] = []
            if camera_id is not None:
                counts.append((await session.execute(
                    _CAMERA_PLATES, {**params, "camera": camera_id})).one())
            elif days is None or days.first_at != period.start:
                counts.append((await session.execute(
                    _PLATES, {**params, "reads_from": period.start})).one())
            else:
                counts.append((await session.execute(_PLATES_DAYS, {
                    "tenant": tenant_id, "first": days.first, "last": days.last})).one())
                if days.last_at < period.end:
                    counts.append((await session.execute(
                        _PLATES, {**params, "reads_from": days.last_at})).one())
        distinct = sum(int(c.distinct_plates) for c in counts)
        recurring = sum(int(c.recurring_plates) for c in counts)
        return PlatesReport(
            timezone=tz, total_reads=sum(int(c.total_reads) for c in counts),
            distinct_plates=distinct, single_read_plates=distinct - recurring,
            recurring_plates=recurring)

    async def alerts(self, tenant_id: uuid.UUID, period: ReportRange) -> AlertsReport:
        async with self._read() as session:
            tz = await self._timezone(session, tenant_id)
            params = {"tenant": tenant_id, "start": period.start, "end": period.end}
            severities = (await session.execute(_ALERTS_BY_SEVERITY, params)).all()
            watchlists = (await session.execute(_ALERTS_BY_WATCHLIST, params)).all()
            ack = (await session.execute(_ALERTS_ACK, params)).one()
            unacked = (await session.execute(_ALERTS_UNACKED, {"tenant": tenant_id})).scalar()
        return AlertsReport(
            timezone=tz, total=sum(r.n for r in severities),
            by_severity=[{"severity": r.severity, "count": r.n} for r in severities],
            by_watchlist=[{"watchlist_id": r.watchlist_id, "watchlist_name": r.watchlist_name,
                           "count": r.n} for r in watchlists],
            acknowledged=ack.acknowledged,
            ack_median_seconds=float(ack.median) if ack.median is not None else None,
            ack_p90_seconds=float(ack.p90) if ack.p90 is not None else None,
            unacknowledged_now=int(unacked or 0),
        )

    async def availability(self, tenant_id: uuid.UUID, period: ReportRange) -> AvailabilityReport:
        async with self._read() as session:
            tz = await self._timezone(session, tenant_id)
            rows = (await session.execute(_AVAILABILITY, {
                "tenant": tenant_id, "start": period.start, "end": period.end,
                "gap": self._gap, "longest": LONGEST_SEGMENT.total_seconds(),
                **split_hours(period)})).all()
        cameras = []
        for r in rows:
            recorded = float(r.recorded_seconds)
            continuous = r.recording_mode == "continuous"
            cameras.append({
                "camera_id": r.camera_id, "name": r.name, "recording_mode": r.recording_mode,
                "status": r.status,
                "uptime_pct": round(min(100.0, 100.0 * recorded / period.seconds), 2)
                if continuous else None,
                "outages": int(r.outages) if continuous else None,
                "recording_hours": round(recorded / 3600.0, 3),
                "storage_bytes": int(r.storage_bytes), "retention_days": r.retention_days,
                "oldest_recording_at": r.oldest,
            })
        return AvailabilityReport(
            timezone=tz, cameras=cameras,
            storage_bytes_total=sum(c["storage_bytes"] for c in cameras),
            recording_hours_total=round(sum(c["recording_hours"] for c in cameras), 3),
        )

    async def plate_history(self, tenant_id: uuid.UUID, plate: str, period: ReportRange, *,
                            offset: int, limit: int, actor: Actor) -> Page[dict[str, Any]]:
        """Every read of ``plate`` (normalised) in the period, newest first; audited
        before anything is read."""
        await self._audit.record(
            actor, "plate.history", object_type="plate", object_id=plate, tenant_id=tenant_id,
            after={"plate": plate, "start": period.start.isoformat(),
                   "end": period.end.isoformat()})
        async with self._read() as session:
            rows = (await session.execute(_PLATE_HISTORY, {
                "tenant": tenant_id, "plate": plate, "start": period.start, "end": period.end,
                "offset": offset, "limit": limit})).all()
            total = rows[0].total if rows else 0
            if not rows and offset:
                total = int((await session.execute(text(
                    "SELECT count(*) FROM ai.detections WHERE tenant_id = :tenant AND plate = "
                    ":plate AND detected_at >= :start AND detected_at < :end"),
                    {"tenant": tenant_id, "plate": plate, "start": period.start,
                     "end": period.end})).scalar() or 0)
        items = [{"detection_id": r.id, "camera_id": r.camera_id, "camera_name": r.camera_name,
                  "latitude": r.latitude, "longitude": r.longitude,
                  "detected_at": r.detected_at, "confidence": r.confidence} for r in rows]
        return Page(items=items, total=total)
