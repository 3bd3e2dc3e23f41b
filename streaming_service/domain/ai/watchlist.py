"""Watchlists, alerts and plate searches of the AI context: plain values and rules.

* A watchlist entry alerts on a plate pattern (``shared_kernel.plates.PlatePattern``:
  exact, ``ABC*`` or ``ABC1?23``; layout-blind, so ``ABC1234`` also catches ``ABC1C34``)
  within an optional active window.
* A plate query of the detections search is exact (``ABC1D23``), a prefix (``ABC*``) or a
  similarity search (``~ABC1D23``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from shared_kernel.plates import MIXED_POSITION, PlateNumber, PlatePattern, normalise
from streaming_service.domain.errors import NotFound, StreamingError


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    RETRACTED = "retracted"
    """Raised on a provisional read that the tracker's vote no longer supports."""


class WatchlistNotFound(NotFound):
    code = "watchlist_not_found"


class WatchlistEntryNotFound(NotFound):
    code = "watchlist_entry_not_found"


class AlertNotFound(NotFound):
    code = "alert_not_found"


class WatchlistNameTaken(StreamingError):
    code = "watchlist_name_taken"


class InvalidPlateQuery(StreamingError):
    code = "invalid_plate_query"


def is_active(
    active_from: datetime | None, active_until: datetime | None, at: datetime
) -> bool:
    """Whether an entry with this window alerts at ``at`` (open ends are unbounded)."""
    if active_from is not None and at < active_from:
        return False
    return not (active_until is not None and at >= active_until)


def entry_matches(pattern: str, plate: PlateNumber) -> bool:
    return PlatePattern(pattern).matches(plate)


PLATE_LENGTH = 7
NEIGHBOUR_MASK = "_"


def plate_neighbour_keys(plate: str) -> tuple[str, ...]:
    """The plate with each position masked in turn (``_BC1D23``, ``A_C1D23``, …).

    Two plates of seven characters share a key exactly when they differ in at most one
    position — the one OCR confusion a "similar" search looks for — so an index of every
    read's keys (``ai.detections.plate_keys``) answers it with a few exact lookups instead
    of a trigram scan whose posting lists grow with the table."""
    return tuple(plate[:i] + NEIGHBOUR_MASK + plate[i + 1:] for i in range(len(plate)))


class PlateQueryKind(enum.StrEnum):
    EXACT = "exact"
    PREFIX = "prefix"
    SIMILAR = "similar"


_MERCOSUL_LETTERS = "ABCDEFGHIJ"
_QUERY_CHARS = re.compile(r"^[A-Z0-9]+$")


@dataclass(frozen=True)
class PlateQuery:
    """A parsed ``plate=`` filter. ``forms`` are the spellings to look for: both layouts
    of an exact plate, both layouts of a prefix that reaches the fifth character."""

    kind: PlateQueryKind
    text: str
    forms: tuple[str, ...]

    @property
    def neighbour_keys(self) -> tuple[str, ...]:
        """For a "similar" query of a whole plate: the keys of every form (either layout)."""
        if self.kind is not PlateQueryKind.SIMILAR or len(self.text) != PLATE_LENGTH:
            return ()
        return tuple(sorted({k for form in self.forms for k in plate_neighbour_keys(form)}))

    @classmethod
    def parse(cls, raw: str) -> PlateQuery:
        raw = raw.strip()
        if raw.startswith("~"):
            text = normalise(raw[1:])
            if not 3 <= len(text) <= 7 or not _QUERY_CHARS.match(text):
                raise InvalidPlateQuery(
                    "a similarity search needs 3 to 7 letters or digits", {"plate": raw}
                )
            return cls(PlateQueryKind.SIMILAR, text, _similar_forms(text))
        text = normalise(raw)
        if text.endswith("*"):
            prefix = text.rstrip("*")
            if not prefix or len(prefix) > 7 or not _QUERY_CHARS.match(prefix):
                raise InvalidPlateQuery(
                    "a prefix search is 1 to 7 letters or digits followed by '*'",
                    {"plate": raw},
                )
            return cls(PlateQueryKind.PREFIX, prefix, _prefix_forms(prefix))
        try:
            plate = PlateNumber.parse(text)
        except ValueError as exc:
            raise InvalidPlateQuery(
                "not a plate: use ABC1234, ABC1D23, a prefix like ABC* or ~ABC1D23",
                {"plate": raw},
            ) from exc
        return cls(PlateQueryKind.EXACT, plate.value, tuple(sorted(plate.equivalent_forms())))


def _prefix_forms(prefix: str) -> tuple[str, ...]:
    forms = {prefix}
    if len(prefix) > MIXED_POSITION:
        fifth = prefix[MIXED_POSITION]
        head, tail = prefix[:MIXED_POSITION], prefix[MIXED_POSITION + 1 :]
        if fifth.isdigit():
            forms.add(head + _MERCOSUL_LETTERS[int(fifth)] + tail)
        elif fifth in _MERCOSUL_LETTERS:
            forms.add(head + str(_MERCOSUL_LETTERS.index(fifth)) + tail)
    return tuple(sorted(forms))


def _similar_forms(text: str) -> tuple[str, ...]:
    if len(text) == 7 and PlateNumber.is_valid(text):
        return tuple(sorted(PlateNumber.parse(text).equivalent_forms()))
    return (text,)
