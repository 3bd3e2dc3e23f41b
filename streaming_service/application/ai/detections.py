"""Use cases of detections: record a passing vehicle (crop, row, events, watchlist
alerts, live feed) and search the tenant's detections by plate, camera and time.

Alerts do not wait for the tracker's vote: the first confident read of a vehicle that
hits a watchlist is recorded at once (a *provisional* detection and its ``AlertRaised``);
the vote then confirms it silently, or corrects or retracts each alert with
``AlertUpdated`` (same destinations as ``AlertRaised``). Matching applies the tenant's
LPR policy (confidence threshold, match distance; ``application.ai.lpr_settings``).

Recording order: the crop is stored first (a row never points at a missing crop); then
one transaction writes the detection, every alert it raises, and their events to the
outbox: ``PlateDetected`` to ``domain.events`` and the tenant's live feed, each
``AlertRaised`` to ``domain.events``, ``notifications`` (``alerts.<tenant>.<severity>``)
and the live feed. The outbox relay delivers them once committed (it wakes on the commit's
NOTIFY), so a rolled-back detection announces nothing and a broker or Redis outage delays
events without losing any.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from shared_kernel import bus
from shared_kernel.events import AlertRaised, AlertUpdated, EventEnvelope, PlateDetected
from shared_kernel.pagination import Page
from shared_kernel.plates import PlateNumber, PlatePattern
from streaming_service.application.ai.lpr_settings import load_policy
from streaming_service.application.ai.watchlists import matching_entries
from streaming_service.domain.ai.lpr_settings import variant_plates
from streaming_service.domain.ai.ports import LIVE_FEED, RecentPlate, RecentPlates
from streaming_service.domain.ai.watchlist import (
    AlertStatus,
    PlateQuery,
    PlateQueryKind,
    is_active,
)
from streaming_service.domain.errors import InvalidTimeRange, NotFound
from streaming_service.domain.ports import ObjectStore, Outbox
from streaming_service.infrastructure.db.models.ai import Alert, Detection, WatchlistEntry

log = logging.getLogger(__name__)

LPR_BUCKET = "lpr-images"


class DetectionNotFound(NotFound):
    code = "detection_not_found"


class CropNotFound(NotFound):
    code = "crop_not_found"


def crop_key(tenant_id: uuid.UUID, camera_id: uuid.UUID, at: datetime, det_id: uuid.UUID) -> str:
    at = at.astimezone(UTC)
    return f"{tenant_id}/{camera_id}/{at:%Y/%m/%d}/{det_id}.jpg"


def crop_path(detection_id: uuid.UUID) -> str:
    """The API path a client fetches a detection's crop from (authenticated, scoped)."""
    return f"/api/ai/detections/{detection_id}/crop"


def alert_routing_key(tenant_id: uuid.UUID, severity: str) -> str:
    return f"alerts.{tenant_id}.{severity}"


@dataclass(frozen=True)
class NewDetection:
    tenant_id: uuid.UUID
    camera_id: uuid.UUID
    plate: PlateNumber
    confidence: float
    detected_at: datetime
    crop_jpeg: bytes | None = None
    bbox: list[float] | None = None
    track_id: str | None = None
    reads: int = 1
    support: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    detection_id: uuid.UUID = field(default_factory=uuid.uuid4)
    """Callers that may retry pass a stable id: a second record is then a no-op."""


@dataclass(frozen=True)
class RecordedDetection:
    detection: Detection
    alerts: list[Alert]
    events: list[EventEnvelope]


RECENT_DETECTION_LOOKBACK = timedelta(hours=24)
"""How far back "seen recently" looks for the detection of a plate still in view."""

PROVISIONAL = "provisional"
"""``details.stage`` of a detection recorded on a provisional read, until the vote."""


class DetectionRecorder:
    """Records vehicles and raises their watchlist alerts (see the module docstring).

    Two entries: :meth:`record_provisional` for the first confident read of a vehicle
    (writes the detection and its alerts only when the read hits a watchlist, so an alert
    does not wait for the tracker's vote), and :meth:`record` for the voted vehicle (a new
    detection; or, when a provisional one exists, its confirmation: the row takes the
    voted read, alerts the vote no longer supports are corrected or retracted with
    ``AlertUpdated``, entries only the voted plate hits raise new alerts). One alert per
    (detection, entry): a retried record is a no-op, never a second alert.
    """

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        store: ObjectStore,
        outbox: Outbox,
        recent: RecentPlates | None = None,
        seen_recently_seconds: float = 600.0,
    ) -> None:
        self._sessions = sessions
        self._store = store
        self._outbox = outbox
        self._recent = recent
        self._seen_recently = seen_recently_seconds
        self._partitions: set[str] = set()

    async def match_new_entry(self, session: AsyncSession, entry: WatchlistEntry) -> int:
        """"Seen recently": alert once on a plate the tenant's cameras saw in the last
        minutes that the new ``entry`` hits, exactly or, under the tenant's match
        distance, by one OCR-confusable character (a parked car, or one passing again, is
        de-duplicated before matching, so nothing else would). Runs in the entry's
        transaction; the alert is on the plate's latest detection on the camera that saw
        it last. Returns the number of alerts raised."""
        if self._recent is None or self._seen_recently <= 0:
            return 0
        now = datetime.now(UTC)
        if not is_active(entry.active_from, entry.active_until, now):
            return 0
        pattern = PlatePattern(entry.plate_pattern)
        try:
            recent = await self._recent.since(entry.tenant_id,
                                              now.timestamp() - self._seen_recently)
        except Exception as exc:
            # The entry still counts for every read from now on; only the look back is lost.
            log.warning("recent plates unavailable; entry not matched against them",
                        extra={"entry_id": str(entry.id), "error": repr(exc)[:300]})
            return 0
        # The tenant's match distance applies as it does to live reads: an entry of a
        # fuzzy severity also takes a plate one OCR-confusable character away.
        policy = await load_policy(session, entry.tenant_id)
        fuzzy = entry.severity in policy.fuzzy_severities()
        latest: dict[str, RecentPlate] = {}  # vehicle (Mercosul form) -> newest sighting
        for seen in recent:
            try:
                plate = PlateNumber(seen.plate)
            except ValueError:
                continue
            vehicle = plate.to_mercosul().value
            if vehicle in latest:
                continue
            if pattern.matches(plate) or (
                fuzzy and any(pattern.matches(v) for v in variant_plates(plate))
            ):
                latest[vehicle] = seen
        raised = 0
        for seen in latest.values():
            forms = sorted(PlateNumber(seen.plate).equivalent_forms())
            detection = (await session.execute(
                select(Detection).where(
                    Detection.tenant_id == entry.tenant_id,
                    Detection.camera_id == seen.camera_id,
                    Detection.plate.in_(forms),
                    Detection.detected_at >= now - RECENT_DETECTION_LOOKBACK,
                ).order_by(Detection.detected_at.desc()).limit(1)
            )).scalars().first()
            if detection is None:
                continue
            for alert in await self._raise(session, detection, [entry]):
                await self._alert_raised(session, detection, alert)
                raised += 1
        return raised

    async def _remember(self, new: NewDetection) -> None:
        if self._recent is None:
            return
        last_seen = new.details.get("last_seen")
        at = float(last_seen) if isinstance(last_seen, int | float) \
            else new.detected_at.timestamp()
        try:
            await self._recent.seen(new.tenant_id, new.camera_id,
                                    {new.plate.to_mercosul().value: at})
        except Exception as exc:
            log.warning("recent plates unavailable", extra={"error": repr(exc)[:300]})

    async def record_provisional(self, new: NewDetection) -> RecordedDetection | None:
        """A first confident read: recorded (with its alerts) only if it raises one;
        ``None`` when it hits no watchlist, is not confident enough for the tenant, or
        was recorded before."""
        await self._ensure_partition(new.detected_at)
        async with self._sessions() as session, session.begin():
            policy = await load_policy(session, new.tenant_id)
            if not policy.may_alert(new.confidence):
                return None
            entries = await matching_entries(session, new.tenant_id, new.plate,
                                             new.detected_at, policy)
            if not entries or await _find(session, new.detection_id, new.tenant_id):
                return None
        key = await self._store_crop(new)
        async with self._sessions() as session, session.begin():
            if await _find(session, new.detection_id, new.tenant_id) is not None:
                return None
            detection = _detection_row(new, key, stage=PROVISIONAL)
            session.add(detection)
            await session.flush()
            alerts = await self._raise(session, detection, entries)
            events = [await self._alert_raised(session, detection, a) for a in alerts]
        return RecordedDetection(detection, alerts, events)

    async def record(self, new: NewDetection) -> RecordedDetection:
        key = await self._store_crop(new)
        await self._ensure_partition(new.detected_at)

        async with self._sessions() as session, session.begin():
            existing = await _find(session, new.detection_id, new.tenant_id, for_update=True)
            if existing is not None and existing.details.get("stage") == PROVISIONAL:
                result = await self._confirm(session, existing, new, key)
            elif existing is not None:
                log.info("detection already recorded", extra={"detection_id": str(existing.id)})
                return RecordedDetection(existing, [], [])
            else:
                result = await self._insert(session, new, key)
        await self._remember(new)
        return result

    async def _insert(
        self, session: AsyncSession, new: NewDetection, key: str | None
    ) -> RecordedDetection:
        detection = _detection_row(new, key)
        session.add(detection)
        await session.flush()
        policy = await load_policy(session, new.tenant_id)
        entries = []
        if policy.may_alert(new.confidence):
            entries = await matching_entries(session, new.tenant_id, new.plate,
                                             new.detected_at, policy)
        alerts = await self._raise(session, detection, entries)
        events = [await self._plate_detected(session, detection)]
        events += [await self._alert_raised(session, detection, a) for a in alerts]
        return RecordedDetection(detection, alerts, events)

    async def _confirm(
        self, session: AsyncSession, detection: Detection, new: NewDetection, key: str | None
    ) -> RecordedDetection:
        """The vote of a vehicle recorded provisionally: take the voted read, then bring
        its alerts in line with it."""
        previous_plate = detection.plate
        detection.plate = new.plate.value
        detection.plate_style = new.plate.style
        detection.confidence = new.confidence
        detection.crop_key = key or detection.crop_key
        detection.bbox = new.bbox
        detection.reads = new.reads
        detection.support = new.support
        # Keep what others added meanwhile (an event clip), take the vote's details.
        detection.details = {**(detection.details or {}), **new.details, "stage": "voted",
                             "provisional_plate": previous_plate}
        policy = await load_policy(session, new.tenant_id)
        entries = []
        if policy.may_alert(new.confidence):
            entries = await matching_entries(session, new.tenant_id, new.plate,
                                             detection.detected_at, policy)
        hit = {e.id for e in entries}
        existing = (await session.execute(
            select(Alert).where(Alert.detection_id == detection.id,
                                Alert.tenant_id == detection.tenant_id)
        )).scalars().all()
        raised = {a.watchlist_entry_id for a in existing}
        events: list[EventEnvelope] = []
        now = datetime.now(UTC)
        for alert in existing:
            if alert.status == AlertStatus.RETRACTED.value:
                continue
            if alert.watchlist_entry_id in hit:
                if alert.plate == detection.plate:
                    continue  # the vote confirms the provisional read: nothing to say
                change = "corrected"
            else:
                change = "retracted"
                alert.status = AlertStatus.RETRACTED.value
            before = alert.plate
            alert.plate = detection.plate
            alert.crop_key = detection.crop_key
            events.append(await self._alert_updated(session, detection, alert, change,
                                                    before, now))
        await session.flush()
        alerts = await self._raise(session, detection,
                                   [e for e in entries if e.id not in raised])
        events.append(await self._plate_detected(session, detection))
        events += [await self._alert_raised(session, detection, a) for a in alerts]
        return RecordedDetection(detection, alerts, events)

    async def _store_crop(self, new: NewDetection) -> str | None:
        if not new.crop_jpeg:
            return None
        key = crop_key(new.tenant_id, new.camera_id, new.detected_at, new.detection_id)
        await self._store.put_bytes(LPR_BUCKET, key, new.crop_jpeg, "image/jpeg")
        return key

    async def _raise(
        self, session: AsyncSession, detection: Detection, entries: list[WatchlistEntry]
    ) -> list[Alert]:
        alerts: list[Alert] = []
        for entry in entries:
            alert_id = uuid.uuid4()
            inserted = await session.execute(
                insert(Alert)
                .values(
                    id=alert_id,
                    tenant_id=detection.tenant_id,
                    detection_id=detection.id,
                    watchlist_entry_id=entry.id,
                    watchlist_id=entry.watchlist_id,
                    camera_id=detection.camera_id,
                    plate=detection.plate,
                    severity=entry.severity,
                    reason=entry.reason,
                    crop_key=detection.crop_key,
                    status=AlertStatus.NEW.value,
                    raised_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
                .returning(Alert.id)
            )
            if inserted.scalar_one_or_none() is not None:
                alerts.append(await session.get_one(Alert, alert_id))
        return alerts

    async def _ensure_partition(self, at: datetime) -> None:
        month = at.astimezone(UTC).strftime("%Y%m")
        if month in self._partitions:
            return
        async with self._sessions() as session:
            await session.execute(
                text("SELECT ai.ensure_detections_partition(:at)"), {"at": at}
            )
            await session.commit()
        self._partitions.add(month)

    async def _plate_detected(
        self, session: AsyncSession, detection: Detection
    ) -> EventEnvelope:
        return await self._outbox.add(
            session,
            PlateDetected(
                detection_id=detection.id,
                camera_id=detection.camera_id,
                tenant_id=detection.tenant_id,
                plate=detection.plate,
                confidence=min(1.0, max(0.0, detection.confidence)),
                detected_at=detection.detected_at,
                crop_url=_crop_url(detection),
                bbox=[round(v) for v in detection.bbox] if detection.bbox else None,
            ),
            tenant_id=detection.tenant_id,
            also_to=[(LIVE_FEED, "")],
        )

    async def _alert_raised(
        self, session: AsyncSession, detection: Detection, alert: Alert
    ) -> EventEnvelope:
        return await self._outbox.add(
            session,
            AlertRaised(
                alert_id=alert.id,
                detection_id=detection.id,
                watchlist_entry_id=alert.watchlist_entry_id,
                camera_id=alert.camera_id,
                tenant_id=alert.tenant_id,
                plate=alert.plate,
                severity=alert.severity,  # type: ignore[arg-type]
                reason=alert.reason,
                raised_at=alert.raised_at,
                crop_url=_crop_url(detection),
            ),
            tenant_id=alert.tenant_id,
            also_to=_alert_destinations(alert),
        )

    async def _alert_updated(
        self, session: AsyncSession, detection: Detection, alert: Alert, change: str,
        previous_plate: str, at: datetime,
    ) -> EventEnvelope:
        return await self._outbox.add(
            session,
            AlertUpdated(
                alert_id=alert.id,
                detection_id=detection.id,
                watchlist_entry_id=alert.watchlist_entry_id,
                camera_id=alert.camera_id,
                tenant_id=alert.tenant_id,
                change=change,  # type: ignore[arg-type]
                plate=alert.plate,
                previous_plate=previous_plate,
                severity=alert.severity,  # type: ignore[arg-type]
                reason=alert.reason,
                updated_at=at,
                crop_url=_crop_url(detection),
            ),
            tenant_id=alert.tenant_id,
            also_to=_alert_destinations(alert),
        )


def _crop_url(detection: Detection) -> str | None:
    return crop_path(detection.id) if detection.crop_key else None


def _alert_destinations(alert: Alert) -> list[tuple[str, str]]:
    return [(bus.NOTIFICATIONS, alert_routing_key(alert.tenant_id, alert.severity)),
            (LIVE_FEED, "")]


def _detection_row(new: NewDetection, key: str | None, *, stage: str = "voted") -> Detection:
    return Detection(
        id=new.detection_id,
        detected_at=new.detected_at,
        tenant_id=new.tenant_id,
        camera_id=new.camera_id,
        plate=new.plate.value,
        plate_style=new.plate.style,
        confidence=new.confidence,
        crop_key=key,
        bbox=new.bbox,
        track_id=new.track_id,
        reads=new.reads,
        support=new.support,
        details={**new.details, "stage": stage},
    )


async def _find(
    session: AsyncSession, detection_id: uuid.UUID, tenant_id: uuid.UUID | None, *,
    for_update: bool = False,
) -> Detection | None:
    query = select(Detection).where(Detection.id == detection_id)
    if tenant_id is not None:
        query = query.where(Detection.tenant_id == tenant_id)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalars().first()


@dataclass(frozen=True)
class _SearchShape:
    """What a detection search's statements depend on, besides the values bound to them."""

    kind: PlateQueryKind | None
    forms: int
    by_keys: bool
    camera: bool
    start: bool
    end: bool


@dataclass(frozen=True)
class _SearchStatements:
    page_and_total: Select[Any]  # a plate search: its page and total in one statement
    page: Select[Any]
    total: Select[Any]


@functools.cache
def _search_statements(shape: _SearchShape) -> _SearchStatements:
    """A search's statements for its ``shape``, every value a bound parameter: built and
    compiled once per shape instead of per request (building the ORM statements and their
    cache keys was a fifth of a search's CPU)."""
    conditions: list[Any] = [Detection.tenant_id == bindparam("tenant_id")]
    if shape.camera:
        conditions.append(Detection.camera_id == bindparam("camera_id"))
    if shape.start:
        conditions.append(Detection.detected_at >= bindparam("start"))
    if shape.end:
        conditions.append(Detection.detected_at <= bindparam("end"))
    forms = [bindparam(f"form_{i}", type_=Text) for i in range(shape.forms)]
    score: Any = literal(None)
    if shape.kind is PlateQueryKind.EXACT:
        conditions.append(Detection.plate.in_(forms))
    elif shape.kind is PlateQueryKind.PREFIX:
        # Plate forms are letters and digits only; text_pattern_ops serves the LIKE.
        conditions.append(or_(*(Detection.plate.startswith(f) for f in forms)))
    elif shape.kind is PlateQueryKind.SIMILAR:
        scores = [func.similarity(Detection.plate, f) for f in forms]
        score = func.greatest(*scores) if len(scores) > 1 else scores[0]
        if shape.by_keys:
            # A whole plate: reads at most one character apart, by their keys.
            conditions.append(Detection.plate_keys.overlap(
                cast(bindparam("keys", type_=ARRAY(Text)), ARRAY(Text))))
        else:
            # A partial plate: ``%`` (pg_trgm's similarity operator, threshold 0.3),
            # served by the trigram index.
            conditions.append(or_(*(Detection.plate.op("%")(f) for f in forms)))
    where = and_(*conditions)
    order: list[Any] = [Detection.detected_at.desc(), Detection.id]
    if shape.kind is PlateQueryKind.SIMILAR:
        order.insert(0, score.desc())
    offset, limit = bindparam("offset", type_=Integer), bindparam("limit", type_=Integer)
    page = (select(Detection, score.label("score")).where(where).order_by(*order)
            .offset(offset).limit(limit))
    total = select(func.count()).select_from(Detection).where(where)
    # A plate's reads are few among millions: find them through the plate indexes first
    # (a materialized CTE), then sort. Left to itself the planner may walk the whole time
    # index newest first, filtering for the plate, hoping to fill the page early (seconds
    # at city scale when the reads are old or few). Its row estimates for a plate over
    # millions of reads (``plate_keys &&`` above all) are generic and high, so it would
    # also JIT-compile the query and plan parallel workers, each costing far more than
    # the search itself (30 ms to 0.6 s vs 5 ms, measured at 11 M reads): the search
    # turns both off for its transaction.
    matched = (select(Detection, score.label("score")).where(where)
               .cte("matched").prefix_with("MATERIALIZED"))
    found = aliased(Detection, matched)
    found_order: list[Any] = [found.detected_at.desc(), found.id]
    if shape.kind is PlateQueryKind.SIMILAR:
        found_order.insert(0, matched.c.score.desc())
    counted = select(func.count()).select_from(matched).scalar_subquery()
    page_and_total = (select(found, matched.c.score, counted.label("total"))
                      .order_by(*found_order).offset(offset).limit(limit))
    return _SearchStatements(page_and_total, page, total)


class Detections:
    """Reading the tenant's detections (search, one detection, its crop)."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], store: ObjectStore
    ) -> None:
        self._sessions = sessions
        self._store = store

    async def get(self, detection_id: uuid.UUID, tenant_id: uuid.UUID) -> Detection:
        async with self._sessions() as session:
            detection = await _find(session, detection_id, tenant_id)
        if detection is None:
            raise DetectionNotFound("detection not found", {"detection_id": str(detection_id)})
        return detection

    async def crop(self, detection: Detection) -> bytes:
        """The JPEG of a detection's plate (``CropNotFound`` when it has none)."""
        if not detection.crop_key:
            raise CropNotFound("this detection has no crop")
        return await self._store.get_bytes(LPR_BUCKET, detection.crop_key)

    async def search(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        *,
        plate: PlateQuery | None = None,
        camera_id: uuid.UUID | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[tuple[Detection, float | None]]:
        """Each detection with its similarity score (``~`` searches only), read in the
        caller's ``session`` (the API's audited transaction); newest first,
        ``~`` searches by similarity, then time."""
        if start is not None and end is not None and start > end:
            raise InvalidTimeRange("start is after end", {"start": start.isoformat(),
                                                          "end": end.isoformat()})
        shape = _SearchShape(
            kind=plate.kind if plate is not None else None,
            forms=len(plate.forms) if plate is not None else 0,
            by_keys=bool(plate is not None and plate.neighbour_keys),
            camera=camera_id is not None, start=start is not None, end=end is not None)
        statements = _search_statements(shape)
        params: dict[str, Any] = {"tenant_id": tenant_id, "camera_id": camera_id,
                                  "start": start, "end": end, "offset": offset,
                                  "limit": limit}
        if plate is not None:
            params.update({f"form_{i}": form for i, form in enumerate(plate.forms)})
            if shape.by_keys:
                params["keys"] = list(plate.neighbour_keys)
            # Both off for this transaction only (see _search_statements).
            await session.execute(text(
                "SELECT set_config('jit', 'off', true), "
                "set_config('max_parallel_workers_per_gather', '0', true)"))
            rows = (await session.execute(statements.page_and_total, params)).all()
            if rows or offset == 0:
                return Page([(row[0], float(row[1]) if row[1] is not None else None)
                             for row in rows], int(rows[0][2]) if rows else 0)
            # past the last page: no row carries the total
        total = await session.execute(statements.total, params)
        rows = (await session.execute(statements.page, params)).all()
        items = [(row[0], float(row[1]) if row[1] is not None else None) for row in rows]
        return Page(items, int(total.scalar_one()))
