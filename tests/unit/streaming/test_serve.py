"""How many uvicorn workers one streaming replica runs (streaming_service.serve)."""

from __future__ import annotations

from streaming_service.serve import available_cpus, worker_count


def test_one_worker_per_cpu_with_mediamtx() -> None:
    assert worker_count("mediamtx") == available_cpus()


def test_the_configured_count_wins() -> None:
    assert worker_count("mediamtx", "3") == 3
    assert worker_count("mediamtx", " ") == available_cpus()


def test_the_embedded_ffmpeg_engine_runs_one_worker() -> None:
    """It supervises its ffmpeg processes in the API process: a second worker would start
    its own copy of each stream."""
    assert worker_count("ffmpeg") == 1
    assert worker_count("ffmpeg", "4") == 1
