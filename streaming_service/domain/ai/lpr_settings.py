"""A tenant's plate-reading policy: how sure a read must be to raise an alert, and how far
a read may be from a watchlist plate and still hit it.

OCR confuses a few glyph pairs (5/S, 1/I, 2/Z, 8/B, 4/A, 0/O/D/Q, 6/G, 7/T), above all in
the fifth position, where the two plate layouts differ (a letter on Mercosul plates, a
digit on old ones). A tenant may accept one such confusion for its high-severity lists: a
stolen car read as ``ABC1S34`` then still hits the entry ``ABC1534``.

Plain Python: no framework, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared_kernel.plates import PlateNumber
from streaming_service.domain.ai.watchlist import Severity

CONFUSABLE: dict[str, str] = {
    "5": "S", "S": "5", "1": "I", "I": "1", "2": "Z", "Z": "2", "8": "B", "B": "8",
    "4": "A", "A": "4", "0": "ODQ", "O": "0DQ", "D": "0OQ", "Q": "0OD", "6": "G", "G": "6",
    "7": "T", "T": "7",
}
"""Glyphs OCR mistakes for each other (each maps to the glyphs it may be read as)."""

SEVERITY_ORDER = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
MAX_MATCH_DISTANCE = 1


@dataclass(frozen=True)
class LprPolicy:
    """One tenant's settings; the defaults are what a tenant without a row gets (every
    confident-enough read alerts, exact matches only)."""

    min_confidence: float = 0.0
    """A read must be at least this confident to raise an alert (provisional or voted).
    Detections below it are still stored and searchable."""
    match_distance: int = 0
    """How many OCR-confusable characters a read may differ by from an exact watchlist
    plate (0 or 1) on lists of ``fuzzy_min_severity`` and above."""
    fuzzy_min_severity: Severity = Severity.HIGH

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError("min_confidence must be between 0 and 1")
        if not 0 <= self.match_distance <= MAX_MATCH_DISTANCE:
            raise ValueError(f"match_distance must be between 0 and {MAX_MATCH_DISTANCE}")

    def fuzzy_severities(self) -> tuple[str, ...]:
        """The severities whose exact entries accept a confusable read (none at distance 0)."""
        if self.match_distance == 0:
            return ()
        start = SEVERITY_ORDER.index(self.fuzzy_min_severity)
        return tuple(s.value for s in SEVERITY_ORDER[start:])

    def may_alert(self, confidence: float) -> bool:
        return confidence >= self.min_confidence


def confusable_variants(plate: PlateNumber) -> frozenset[str]:
    """Every spelling one OCR confusion away from ``plate`` in either layout (``plate``
    itself excluded). Not every variant is a valid plate: they are looked up, not read."""
    variants: set[str] = set()
    forms = plate.equivalent_forms()
    for form in forms:
        for i, char in enumerate(form):
            for other in CONFUSABLE.get(char, ""):
                variants.add(form[:i] + other + form[i + 1:])
    return frozenset(variants - forms)


def variant_plates(plate: PlateNumber) -> list[PlateNumber]:
    """The valid plates among :func:`confusable_variants` (for wildcard entries)."""
    return [PlateNumber(v) for v in sorted(confusable_variants(plate)) if _valid(v)]


def _valid(text: str) -> bool:
    try:
        PlateNumber(text)
    except ValueError:
        return False
    return True
