"""The hot statements are built once and compiled once: SQLAlchemy caches a statement's
compiled form by its cache key, and a statement without one (a multi-row VALUES of
literal rows, for instance) is compiled anew on every execution. ``_generate_cache_key``
returning None is what SQLAlchemy's echo reports as ``[no key]``."""

from __future__ import annotations

import itertools

import pytest

from streaming_service.application.ai.alerts import _CLIPPED, _list_statements
from streaming_service.application.ai.detections import _search_statements, _SearchShape
from streaming_service.domain.ai.watchlist import PlateQueryKind
from streaming_service.infrastructure.outbox import _insert_and_notify


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_the_outbox_insert_is_cacheable_and_built_once_per_row_count(rows: int) -> None:
    statement = _insert_and_notify(rows)

    assert statement._generate_cache_key() is not None
    assert _insert_and_notify(rows) is statement
    assert sum(f"added_{i}" in str(statement) for i in range(rows)) == rows


SHAPES = [
    _SearchShape(kind=kind, forms=forms, by_keys=by_keys, camera=camera, start=start,
                 end=end)
    for kind, forms, by_keys in [(None, 0, False), (PlateQueryKind.EXACT, 2, False),
                                 (PlateQueryKind.PREFIX, 1, False),
                                 (PlateQueryKind.SIMILAR, 2, True),
                                 (PlateQueryKind.SIMILAR, 1, False)]
    for camera, start, end in itertools.product([False, True], repeat=3)
]


@pytest.mark.parametrize("shape", SHAPES)
def test_every_search_shape_has_cacheable_statements_with_bound_values(
    shape: _SearchShape,
) -> None:
    statements = _search_statements(shape)

    assert _search_statements(shape) is statements
    for statement in (statements.page_and_total, statements.page, statements.total):
        assert statement._generate_cache_key() is not None
        # Every filter value is bound by name at execution, none baked in at build time.
        names = set(statement.compile().params)
        assert {"tenant_id"} <= names
        assert ("camera_id" in names) is shape.camera
        assert ("start" in names) is shape.start
        assert ("end" in names) is shape.end
        assert ("keys" in names) is shape.by_keys
    for statement in (statements.page_and_total, statements.page):
        names = set(statement.compile().params)
        assert {"offset", "limit"} <= names
        assert {n for n in names if n.startswith("form_")} == {
            f"form_{i}" for i in range(shape.forms)}


@pytest.mark.parametrize(("by_status", "by_camera"),
                         list(itertools.product([False, True], repeat=2)))
def test_the_alert_list_statements_are_cacheable_and_built_once_per_filter_shape(
    by_status: bool, by_camera: bool
) -> None:
    statements = _list_statements(by_status, by_camera)

    assert _list_statements(by_status, by_camera) is statements
    for statement in (statements.page, statements.total):
        assert statement._generate_cache_key() is not None
        names = set(statement.compile().params)
        assert "tenant_id" in names
        assert ("status" in names) is by_status
        assert ("camera_id" in names) is by_camera
    assert {"offset", "limit"} <= set(statements.page.compile().params)
    assert _CLIPPED._generate_cache_key() is not None
