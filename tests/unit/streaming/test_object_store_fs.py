"""The local-filesystem object store: roundtrips, key safety, signed URLs, atomic writes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

import pytest

from streaming_service.domain.errors import ObjectNotFound
from streaming_service.domain.ports import BUCKETS, ObjectStore
from streaming_service.infrastructure import object_store
from streaming_service.infrastructure.object_store import FilesystemObjectStore

SECRET = "unit-test-signing-secret-0123456789"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> FilesystemObjectStore:
    fs = FilesystemObjectStore(tmp_path / "objects", SECRET, clock=clock)
    await fs.ensure_buckets()
    return fs


def _signed_parts(url: str) -> tuple[str, str, str, str]:
    parts = urlsplit(url)
    assert parts.path.startswith("/api/streaming/media/")
    bucket, key = parts.path.removeprefix("/api/streaming/media/").split("/", 1)
    query = parse_qs(parts.query)
    return bucket, key, query["expires"][0], query["sig"][0]


def test_filesystem_store_satisfies_the_port(store: FilesystemObjectStore) -> None:
    port: ObjectStore = store
    assert port is store


async def test_ensure_buckets_creates_every_bucket_and_is_idempotent(
    store: FilesystemObjectStore,
) -> None:
    await store.ensure_buckets()
    assert sorted(p.name for p in store.root.iterdir()) == sorted(BUCKETS)


async def test_bytes_and_file_roundtrip(store: FilesystemObjectStore, tmp_path: Path) -> None:
    key = "tenant-1/camera-2/2026/03/04/seg-000.mp4"
    assert not await store.exists("recordings", key)
    assert await store.put_bytes("recordings", key, b"\x00fmp4 bytes", "video/mp4") == 11
    assert await store.exists("recordings", key)
    assert await store.get_bytes("recordings", key) == b"\x00fmp4 bytes"

    source = tmp_path / "segment.mp4"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    size = await store.put_file("recordings", key, source, "video/mp4")
    assert size == source.stat().st_size
    assert await store.get_bytes("recordings", key) == source.read_bytes()
    assert store.path_for("recordings", key).read_bytes() == source.read_bytes()

    await store.delete("recordings", key)
    assert not await store.exists("recordings", key)
    await store.delete("recordings", key)  # deleting twice is harmless
    # The empty day folders go with the last object.
    assert list((store.root / "recordings").iterdir()) == []
    with pytest.raises(ObjectNotFound):
        await store.get_bytes("recordings", key)


@pytest.mark.parametrize(
    "key",
    [
        "../secrets.txt",
        "a/../../b",
        "a/./b",
        "/etc/passwd",
        "\\windows\\system32",
        "C:/x",
        "a\x00b",
        "",
        "a//b",
        "dir/",
        "..",
    ],
)
async def test_keys_that_could_escape_the_bucket_are_rejected(
    store: FilesystemObjectStore, key: str
) -> None:
    with pytest.raises(ValueError):
        await store.put_bytes("snapshots", key, b"x", "image/jpeg")
    with pytest.raises(ValueError):
        await store.get_bytes("snapshots", key)
    with pytest.raises(ValueError):
        await store.presigned_get_url("snapshots", key, 60)
    assert not store.verify_signature("snapshots", key, "9999999999", "sig")


async def test_unknown_bucket_is_rejected(store: FilesystemObjectStore) -> None:
    with pytest.raises(ValueError):
        await store.put_bytes("../objects", "k", b"x", "text/plain")
    with pytest.raises(ValueError):
        await store.put_bytes("other-bucket", "k", b"x", "text/plain")


async def test_symlink_leading_out_of_the_bucket_is_rejected(
    store: FilesystemObjectStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (store.root / "exports" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ValueError):
        await store.put_bytes("exports", "link/evil.mp4", b"x", "video/mp4")
    assert list(outside.iterdir()) == []


async def test_presigned_url_verifies_until_it_expires(
    store: FilesystemObjectStore, clock: Clock
) -> None:
    key = "tenant/cam/snap 1+2.jpg"
    await store.put_bytes("snapshots", key, b"jpeg", "image/jpeg")
    url = await store.presigned_get_url("snapshots", key, 300)
    bucket, quoted_key, expires, sig = _signed_parts(url)
    assert bucket == "snapshots"
    assert quoted_key == "tenant/cam/snap%201%2B2.jpg"
    assert int(expires) == int(clock.now) + 300
    assert store.verify_signature("snapshots", key, expires, sig)

    clock.now += 300
    assert store.verify_signature("snapshots", key, expires, sig)
    clock.now += 1
    assert not store.verify_signature("snapshots", key, expires, sig)


async def test_tampered_signed_urls_are_rejected(store: FilesystemObjectStore) -> None:
    key = "tenant/cam/a.jpg"
    url = await store.presigned_get_url("snapshots", key, 300)
    _, _, expires, sig = _signed_parts(url)
    assert store.verify_signature("snapshots", key, expires, sig)
    assert not store.verify_signature("snapshots", "tenant/cam/b.jpg", expires, sig)
    assert not store.verify_signature("thumbnails", key, expires, sig)
    assert not store.verify_signature("snapshots", key, str(int(expires) + 3600), sig)
    assert not store.verify_signature("snapshots", key, expires, sig[:-1] + "A")
    assert not store.verify_signature("snapshots", key, "not-a-number", sig)
    other = FilesystemObjectStore(store.root, "another-secret-of-enough-length")
    assert not other.verify_signature("snapshots", key, expires, sig)


async def test_presign_expiry_must_be_positive_and_bounded(store: FilesystemObjectStore) -> None:
    for seconds in (0, -5, 8 * 24 * 3600):
        with pytest.raises(ValueError):
            await store.presigned_get_url("exports", "a.mp4", seconds)


def test_short_signing_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        FilesystemObjectStore(tmp_path, "short")


async def test_failed_write_leaves_the_previous_object_and_no_temp_file(
    store: FilesystemObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "t/c/clip.mp4"
    await store.put_bytes("exports", key, b"old complete object", "video/mp4")
    with pytest.raises(FileNotFoundError):
        await store.put_file("exports", key, tmp_path / "does-not-exist.mp4", "video/mp4")

    # A write that dies halfway: readers still get the old object, whole.
    source = tmp_path / "half.mp4"
    source.write_bytes(b"x" * 10)
    real_chunks = object_store._chunks

    def dying_chunks(src: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
        yield from real_chunks(src, 4)
        raise OSError("disk full")

    monkeypatch.setattr(object_store, "_chunks", dying_chunks)
    with pytest.raises(OSError, match="disk full"):
        await store.put_file("exports", key, source, "video/mp4")

    assert await store.get_bytes("exports", key) == b"old complete object"
    leftovers = [p.name for p in store.path_for("exports", key).parent.iterdir()]
    assert leftovers == ["clip.mp4"]


async def test_content_type_is_guessed_for_serving() -> None:
    assert FilesystemObjectStore.guess_content_type("a/b.mp4") == "video/mp4"
    assert FilesystemObjectStore.guess_content_type("a/b.jpg") == "image/jpeg"
    assert FilesystemObjectStore.guess_content_type("a/b") == "application/octet-stream"
