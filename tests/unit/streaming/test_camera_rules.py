"""Which cameras may be pulled, and which ones LPR workers read (domain.camera)."""

from __future__ import annotations

import pytest

from streaming_service.domain.camera import is_streamable, needs_lpr


@pytest.mark.parametrize(("status", "decommissioned", "expected"), [
    ("active", False, True), ("maintenance", False, True), ("inactive", False, False),
    ("disabled", False, False), ("decommissioned", False, False), ("active", True, False),
])
def test_streamable_cameras(status: str, decommissioned: bool, expected: bool) -> None:
    assert is_streamable(status=status, decommissioned=decommissioned) is expected


def test_lpr_needs_both_the_flag_and_a_streamable_camera() -> None:
    assert needs_lpr(status="active", decommissioned=False, lpr_enabled=True)
    assert not needs_lpr(status="active", decommissioned=False, lpr_enabled=False)
    assert not needs_lpr(status="disabled", decommissioned=False, lpr_enabled=True)
