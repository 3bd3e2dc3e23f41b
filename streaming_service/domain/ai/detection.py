"""Plate reads and the vehicles they belong to: tracking, voting and de-duplication.

A camera sampled at a few frames per second sees the same vehicle in several frames, and
OCR reads its plate a little differently each time. This module groups the reads of one
vehicle into a track (box overlap or nearby centre, within a time gap), votes each
character across the track weighted by confidence, reports the vehicle once — when the
track ends or after enough reads — and suppresses a second report of the same plate on
the same camera within a de-duplication window.

Voting takes a few reads, and a watchlist alert cannot wait for it: so each track also
reports its first confident read of every plate it reads at once, as a *provisional*
sighting (the caller matches it against the watchlists). A caller that raised an alert on
one calls :meth:`PlateTracker.hold`: the track then reports no more provisional sightings,
and its voted sighting is always reported (never de-duplicated away), so the caller can
confirm or correct what it announced.

Plain Python: no framework, no I/O. Crops are carried as opaque objects.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from shared_kernel.plates import MIXED_POSITION, PLATE_LENGTH, PlateNumber, PlateStyle

PACE_INTERVALS = 5
"""How many of a camera's last frame intervals its pace is the median of."""
SAME_PLATE_BONUS = 2.0
"""More than overlap and closeness together can score (each at most 1)."""
RECENT_READS = 8
"""How many of a track's latest reads a new read is compared with."""
MAX_MISREAD_CHARACTERS = 2
"""A confident read differing from every read of a track in more characters than this
is another vehicle, however close its box: the next car in a queue takes the place of
the one ahead, while a confident misread rarely gets more than one character wrong."""


@dataclass(frozen=True, slots=True)
class BBox:
    """An axis-aligned box in pixel coordinates of the frame, ``x2 > x1``, ``y2 > y1``."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        if not (self.x2 > self.x1 and self.y2 > self.y1):
            raise ValueError(f"empty box: {self}")

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    def iou(self, other: BBox) -> float:
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def centre_distance(self, other: BBox) -> float:
        (ax, ay), (bx, by) = self.centre, other.centre
        return math.hypot(ax - bx, ay - by)

    def clipped(self, width: int, height: int) -> BBox | None:
        """This box inside a ``width``x``height`` frame, or None when nothing is left."""
        x1, y1 = max(0.0, self.x1), max(0.0, self.y1)
        x2, y2 = min(float(width), self.x2), min(float(height), self.y2)
        if x2 <= x1 or y2 <= y1:
            return None
        return BBox(x1, y1, x2, y2)

    def expanded(self, ratio_x: float, ratio_y: float) -> BBox:
        """Grown by a fraction of its size on each side (OCR wants a margin)."""
        dx, dy = self.width * ratio_x, self.height * ratio_y
        return BBox(self.x1 - dx, self.y1 - dy, self.x2 + dx, self.y2 + dy)

    def as_list(self) -> list[float]:
        return [round(self.x1, 1), round(self.y1, 1), round(self.x2, 1), round(self.y2, 1)]


@dataclass(frozen=True, slots=True)
class PlateRead:
    """One plate read in one frame: the validated text, how sure OCR was, and where."""

    plate: PlateNumber
    confidence: float
    bbox: BBox
    detector_score: float = 1.0
    raw_text: str = ""
    crop: Any = field(default=None, compare=False, repr=False)
    """The plate's image (an array or encoded bytes); opaque to the domain."""

    @property
    def text(self) -> str:
        return self.plate.value


@dataclass(frozen=True, slots=True)
class VehicleSighting:
    """A passing vehicle, reported once: the voted plate and its best read."""

    camera_id: str
    plate: PlateNumber
    confidence: float
    """Confidence of the best read that agrees with the voted plate (0 to 1)."""
    support: float
    """Share of the track's vote weight behind the winning characters (0 to 1)."""
    best: PlateRead
    reads: int
    first_seen: float
    last_seen: float
    track_id: str = ""
    """Stable for the track's lifetime: the provisional and the voted sighting share it."""
    provisional: bool = False
    """A single confident read reported before the vote (``plate`` is that read's)."""


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    iou_threshold: float = 0.15
    """Boxes overlapping at least this much in consecutive frames are one vehicle."""
    max_centre_distance: float = 2.0
    """…or whose centres moved less than this many box widths (fast traffic, low fps)."""
    max_gap_s: float = 1.5
    """A track not seen for this long has left the scene; longer when the camera's frames
    come further apart (``gap_frames``)."""
    gap_frames: float = 2.5
    """…at least this many of the camera's recent frame intervals: a worker behind its
    sampled rate takes the newest frame only, and a vehicle missed in one of them has not
    left. 0 keeps the gap at ``max_gap_s``."""
    max_pace_s: float = 4.0
    """A longer interval between two frames is a stall, not the camera's pace."""
    report_after_reads: int = 8
    """Report a vehicle that lingers once it has this many reads, without waiting."""
    min_reads: int = 1
    min_confidence: float = 0.0
    """Sightings whose best read is below this are dropped (not reported)."""
    dedupe_window_s: float = 60.0
    """The same plate on the same camera is reported at most once within this window,
    measured from the last time it was seen (a parked car is reported once)."""
    provisional_min_confidence: float | None = None
    """A single read at least this confident is reported at once as a provisional
    sighting (for watchlist alerts before the vote); None turns provisional reports off."""


def vote(reads: Iterable[PlateRead]) -> tuple[PlateNumber, float]:
    """Per-character vote weighted by confidence; returns the plate and its support.

    The fifth character is voted by value, not by glyph: ``D`` on a Mercosul read and
    ``3`` on an old read are the same vote (the same converted plate), and the layout is
    voted separately. Every position's candidates come from valid plates, so the winner
    is always a valid plate.
    """
    reads = list(reads)
    if not reads:
        raise ValueError("nothing to vote on")
    scores: list[dict[str, float]] = [defaultdict(float) for _ in range(PLATE_LENGTH)]
    styles: dict[PlateStyle, float] = defaultdict(float)
    for read in reads:
        weight = max(read.confidence, 1e-3)
        mercosul = read.plate.to_mercosul().value
        for i, char in enumerate(mercosul):
            scores[i][char] += weight
        styles[read.plate.style] += weight
    winners = [max(s.items(), key=lambda kv: (kv[1], kv[0])) for s in scores]
    total = sum(max(r.confidence, 1e-3) for r in reads)
    support = sum(w for _, w in winners) / (total * PLATE_LENGTH)
    voted = PlateNumber("".join(c for c, _ in winners))
    style = max(styles.items(), key=lambda kv: (kv[1], kv[0]))[0]
    if style == "old":
        old = voted.to_old()
        if old is not None and voted.value[MIXED_POSITION] in "ABCDEFGHIJ":
            voted = old
    return voted, support


@dataclass
class _Track:
    camera_id: str
    reads: list[PlateRead]
    first_seen: float
    last_seen: float
    reported: bool = False
    plate_key: str | None = None
    """The voted plate (Mercosul form) once decided, for de-duplication."""
    track_id: str = ""
    provisional_keys: set[str] = field(default_factory=set)
    """Plates (Mercosul form) already reported provisionally for this track."""
    held: bool = False
    """A provisional sighting was acted on: report the vote whatever de-duplication says."""

    @property
    def last_box(self) -> BBox:
        return self.reads[-1].bbox

    def could_read(self, plate: PlateNumber) -> bool:
        """True when ``plate`` could be a misread of this track's vehicle: within
        :data:`MAX_MISREAD_CHARACTERS` of one of its latest reads (both layouts compared
        in Mercosul form, so a fifth ``D``/``3`` is no difference)."""
        key = plate.to_mercosul().value
        return any(
            sum(a != b for a, b in zip(key, r.plate.to_mercosul().value, strict=True))
            <= MAX_MISREAD_CHARACTERS
            for r in self.reads[-RECENT_READS:]
        )


class PlateTracker:
    """Groups reads into vehicles per camera and reports each vehicle once.

    Call ``observe`` with every processed frame's reads (an empty list too: time moving
    on is what ends tracks), and ``flush`` when the camera stops.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: dict[str, list[_Track]] = defaultdict(list)
        # camera -> voted plate (Mercosul form) -> last time it was reported or seen.
        self._recent: dict[str, dict[str, float]] = defaultdict(dict)
        # camera -> (time of its last frame, its last intervals between frames).
        self._pace: dict[str, tuple[float | None, tuple[float, ...]]] = {}
        self._sequence = 0

    def recently_seen(self, camera_id: str) -> dict[str, float]:
        """Voted plates (Mercosul form) of this camera → when last seen, within the
        de-duplication window (a parked car stays here while in view)."""
        return dict(self._recent[camera_id])

    def hold(self, sighting: VehicleSighting) -> None:
        """The caller acted on this provisional sighting: stop provisional reports of its
        track and always report its vote."""
        for track in self._tracks[sighting.camera_id]:
            if track.track_id == sighting.track_id:
                track.held = True

    def active_tracks(self, camera_id: str) -> int:
        return len(self._tracks[camera_id])

    def observe(self, camera_id: str, reads: list[PlateRead], at: float) -> list[VehicleSighting]:
        """Add one frame's reads (taken at ``at`` seconds); returns vehicles to report."""
        sightings: list[VehicleSighting] = []
        tracks = self._tracks[camera_id]
        max_gap = self._max_gap(camera_id, at)
        # Tracks that went quiet have left: report them before matching new reads.
        for gone in [t for t in tracks if at - t.last_seen > max_gap]:
            tracks.remove(gone)
            sightings.extend(self._finish(gone))
        for match, read in self._associate(tracks, reads):
            if match is None:
                self._sequence += 1
                track = _Track(camera_id, [read], first_seen=at, last_seen=at,
                               track_id=f"{at:.3f}#{self._sequence}")
                tracks.append(track)
            else:
                track = match
                track.reads.append(read)
                track.last_seen = at
                if track.plate_key is not None:
                    # Still in view after being reported: keep its de-duplication fresh.
                    self._recent[camera_id][track.plate_key] = at
            sightings.extend(self._provisional(track, read, at))
        for track in tracks:
            if not track.reported and len(track.reads) >= self.config.report_after_reads:
                sightings.extend(self._finish(track))
                track.reported = True
        self._forget_old(camera_id, at)
        return sightings

    def flush(self, camera_id: str | None = None) -> list[VehicleSighting]:
        """End every track (of one camera, or all); returns vehicles still to report."""
        cameras = [camera_id] if camera_id is not None else list(self._tracks)
        sightings: list[VehicleSighting] = []
        for camera in cameras:
            for track in self._tracks.pop(camera, []):
                sightings.extend(self._finish(track))
        return sightings

    def _max_gap(self, camera_id: str, at: float) -> float:
        """How long a track may go unseen, given how far apart this camera's frames come
        (the median of its last intervals). An interval longer than ``max_pace_s`` is a
        stall, not the camera's pace."""
        last_at, intervals = self._pace.get(camera_id, (None, ()))
        if last_at is not None and 0 < at - last_at <= self.config.max_pace_s:
            intervals = (*intervals[-(PACE_INTERVALS - 1):], at - last_at)
        self._pace[camera_id] = (at, intervals)
        pace = statistics.median_low(intervals) if intervals else 0.0
        return max(self.config.max_gap_s, self.config.gap_frames * pace)

    def _associate(
        self, tracks: list[_Track], reads: list[PlateRead]
    ) -> list[tuple[_Track | None, PlateRead]]:
        """Pairs each read with a track: boxes that overlap or lie close, or the same
        plate read anywhere in the view (frames far apart: the car moved further than
        boxes can tell, but its plate is its own)."""
        cfg = self.config
        candidates: list[tuple[float, int, int]] = []
        for ti, track in enumerate(tracks):
            box = track.last_box
            for ri, read in enumerate(reads):
                iou = box.iou(read.bbox)
                distance = box.centre_distance(read.bbox) / max(box.width, read.bbox.width)
                if not track.could_read(read.plate):
                    continue
                same_plate = track.reads[-1].plate.same_vehicle(read.plate)
                if iou >= cfg.iou_threshold or distance <= cfg.max_centre_distance \
                        or same_plate:
                    # The same plate first (another car's box may lie closer to where
                    # this one was, frames apart), then overlap, then closeness.
                    score = (SAME_PLATE_BONUS if same_plate else 0.0) + iou \
                        + 1.0 / (1.0 + distance)
                    candidates.append((score, ti, ri))
        candidates.sort(reverse=True)
        taken_tracks: set[int] = set()
        matched: dict[int, _Track] = {}
        for _, ti, ri in candidates:
            if ti in taken_tracks or ri in matched:
                continue
            taken_tracks.add(ti)
            matched[ri] = tracks[ti]
        return [(matched.get(ri), read) for ri, read in enumerate(reads)]

    def _provisional(self, track: _Track, read: PlateRead, at: float) -> list[VehicleSighting]:
        threshold = self.config.provisional_min_confidence
        if threshold is None or track.reported or track.held or read.confidence < threshold:
            return []
        key = read.plate.to_mercosul().value
        if key in track.provisional_keys:
            return []
        track.provisional_keys.add(key)
        if any(key in other.provisional_keys for other in self._tracks[track.camera_id]
               if other is not track and not other.reported):
            return []  # the same car on a second track (two boxes on one plate)
        last = self._recent[track.camera_id].get(key)
        if last is not None and track.first_seen - last <= self.config.dedupe_window_s:
            return []  # reported moments ago: this is the same car again
        return [VehicleSighting(
            camera_id=track.camera_id, plate=read.plate, confidence=read.confidence,
            support=0.0, best=read, reads=len(track.reads), first_seen=track.first_seen,
            last_seen=at, track_id=track.track_id, provisional=True,
        )]

    def _finish(self, track: _Track) -> list[VehicleSighting]:
        if track.reported:
            return []
        track.reported = True
        cfg = self.config
        if not track.held:
            # A second track of a car still in view (two boxes on one plate): its reads
            # join that car's track, which reports it once.
            plate = track.reads[-1].plate
            for other in self._tracks[track.camera_id]:
                if other is not track and not other.reported \
                        and other.reads[-1].plate.same_vehicle(plate):
                    other.reads[:0] = track.reads  # older: its last box stays its own
                    return []
        if len(track.reads) < cfg.min_reads and not track.held:
            return []
        plate, support = vote(track.reads)
        agreeing = [r for r in track.reads if r.plate.same_vehicle(plate)]
        pool = agreeing or track.reads
        best = max(pool, key=lambda r: (r.confidence, r.detector_score, r.bbox.area))
        if best.confidence < cfg.min_confidence and not track.held:
            return []
        key = plate.to_mercosul().value
        track.plate_key = key
        recent = self._recent[track.camera_id]
        last = recent.get(key)
        recent[key] = track.last_seen
        if last is not None and track.first_seen - last <= cfg.dedupe_window_s and not track.held:
            return []
        return [
            VehicleSighting(
                camera_id=track.camera_id,
                plate=plate,
                confidence=best.confidence,
                support=support,
                best=best,
                reads=len(track.reads),
                first_seen=track.first_seen,
                last_seen=track.last_seen,
                track_id=track.track_id,
            )
        ]

    def _forget_old(self, camera_id: str, at: float) -> None:
        recent = self._recent[camera_id]
        horizon = at - self.config.dedupe_window_s
        for key in [k for k, t in recent.items() if t < horizon]:
            del recent[key]
