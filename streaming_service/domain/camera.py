"""The rules about cameras the streaming side needs (its projection of the admin
service's cameras): which ones may stream, and which ones LPR workers read."""

from __future__ import annotations

# Admin-side statuses under which a camera must not be pulled (by an engine, a recorder
# or an LPR worker).
UNAVAILABLE_STATUSES = frozenset({"inactive", "disabled", "decommissioned"})


def is_streamable(*, status: str, decommissioned: bool) -> bool:
    return not decommissioned and status not in UNAVAILABLE_STATUSES


def needs_lpr(*, status: str, decommissioned: bool, lpr_enabled: bool) -> bool:
    """An LPR worker reads this camera."""
    return lpr_enabled and is_streamable(status=status, decommissioned=decommissioned)
