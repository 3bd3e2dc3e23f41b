"""How many uvicorn workers one streaming replica runs (streaming_service.serve)."""

from __future__ import annotations

from streaming_service.serve import available_cpus, worker_count


def test_one_worker_per_cpu() -> None:
    assert worker_count() == available_cpus()


def test_the_configured_count_wins() -> None:
    assert worker_count("3") == 3
    assert worker_count("0") == 1
    assert worker_count(" ") == available_cpus()
