"""The S3 object store over real HTTP against moto's S3-compatible server on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from minio import Minio
from minio.error import S3Error
from moto.server import ThreadedMotoServer

from streaming_service.domain.errors import ObjectNotFound, ObjectStoreError
from streaming_service.domain.ports import BUCKETS, ObjectStore
from streaming_service.infrastructure.object_store import S3ObjectStore

ACCESS_KEY, SECRET_KEY = "gtv-test-access", "gtv-test-secret-key"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    """Each test gets its own bucket names on the shared server."""
    return f"t{uuid.uuid4().hex[:10]}-"


def _store(endpoint: str, prefix: str, **kwargs: Any) -> S3ObjectStore:
    return S3ObjectStore(
        endpoint, ACCESS_KEY, SECRET_KEY, secure=False, bucket_prefix=prefix, **kwargs
    )


def _raw(endpoint: str) -> Minio:
    return Minio(endpoint, ACCESS_KEY, SECRET_KEY, secure=False, region="us-east-1")


async def test_put_get_exists_delete_and_presigned_url(
    s3_endpoint: str, prefix: str, tmp_path: Path
) -> None:
    store = _store(s3_endpoint, prefix)
    port: ObjectStore = store
    await port.ensure_buckets()
    key = "tenant-1/camera-2/2026/03/04/seg 000.mp4"

    assert not await store.exists("recordings", key)
    assert await store.put_bytes("recordings", key, b"fmp4-bytes", "video/mp4") == 10
    assert await store.exists("recordings", key)
    assert await store.get_bytes("recordings", key) == b"fmp4-bytes"

    source = tmp_path / "segment.mp4"
    source.write_bytes(bytes(range(256)) * 4096)
    assert await store.put_file("recordings", key, source, "video/mp4") == 256 * 4096
    assert await store.get_bytes("recordings", key) == source.read_bytes()

    url = await store.presigned_get_url("recordings", key, 300)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(url)
    assert response.status_code == 200
    assert response.content == source.read_bytes()
    assert response.headers["content-type"] == "video/mp4"

    await store.delete("recordings", key)
    assert not await store.exists("recordings", key)
    with pytest.raises(ObjectNotFound):
        await store.get_bytes("recordings", key)
    await store.delete("recordings", key)  # deleting a missing object is harmless


async def test_ensure_buckets_is_idempotent_and_sets_versioning_and_lifecycle(
    s3_endpoint: str, prefix: str
) -> None:
    store = _store(s3_endpoint, prefix, lifecycle_days=90)
    await store.ensure_buckets()
    await store.ensure_buckets()

    raw = _raw(s3_endpoint)
    names = {b.name for b in raw.list_buckets() if b.name.startswith(prefix)}
    assert names == {f"{prefix}{b}" for b in BUCKETS}
    for bucket in BUCKETS:
        name = f"{prefix}{bucket}"
        assert raw.get_bucket_versioning(name).status == "Enabled"
        lifecycle = raw.get_bucket_lifecycle(name)
        assert lifecycle is not None
        (rule,) = lifecycle.rules
        assert rule.expiration is not None and rule.expiration.days == 90


async def test_server_side_encryption_is_requested_on_upload(s3_endpoint: str, prefix: str) -> None:
    store = _store(s3_endpoint, prefix, server_side_encryption=True)
    await store.ensure_buckets()
    await store.put_bytes("snapshots", "t/c/snap.jpg", b"jpeg", "image/jpeg")
    stat = _raw(s3_endpoint).stat_object(f"{prefix}snapshots", "t/c/snap.jpg")
    assert stat.metadata.get("x-amz-server-side-encryption") == "AES256"
    assert await store.get_bytes("snapshots", "t/c/snap.jpg") == b"jpeg"


class _NoBucketFeatures(Minio):
    """A server without versioning and lifecycle (some S3-compatibles lack them)."""

    def _unsupported(self, *args: Any, **kwargs: Any) -> None:
        raise S3Error(None, "NotImplemented", "not implemented", "/", "req", "host")  # type: ignore[arg-type]

    set_bucket_versioning = _unsupported  # type: ignore[assignment]
    set_bucket_lifecycle = _unsupported  # type: ignore[assignment]


async def test_servers_without_versioning_or_lifecycle_are_tolerated_with_a_log_line(
    s3_endpoint: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = _NoBucketFeatures(
        s3_endpoint, ACCESS_KEY, SECRET_KEY, secure=False, region="us-east-1"
    )
    store = _store(s3_endpoint, prefix, client=client)
    caplog.set_level(logging.WARNING, logger="streaming_service.infrastructure.object_store")
    await store.ensure_buckets()
    features = [getattr(r, "feature", None) for r in caplog.records]
    assert features.count("versioning") == len(BUCKETS)
    assert features.count("lifecycle") == len(BUCKETS)
    await store.put_bytes("thumbnails", "t/c/thumb.jpg", b"jpeg", "image/jpeg")
    assert await store.exists("thumbnails", "t/c/thumb.jpg")


async def test_unsafe_keys_and_unknown_buckets_never_reach_the_server(
    s3_endpoint: str, prefix: str
) -> None:
    store = _store(s3_endpoint, prefix)
    for key in ("../x", "/abs", "a\x00b", "a/../b", ""):
        with pytest.raises(ValueError):
            await store.put_bytes("exports", key, b"x", "video/mp4")
    with pytest.raises(ValueError):
        await store.put_bytes("not-a-bucket", "k", b"x", "video/mp4")


async def test_unreachable_server_fails_fast_as_an_object_store_error() -> None:
    store = S3ObjectStore(
        f"127.0.0.1:{_free_port()}",
        ACCESS_KEY,
        SECRET_KEY,
        connect_timeout_seconds=1.0,
        max_retries=1,
    )
    with pytest.raises(ObjectStoreError):
        await store.put_bytes("exports", "a.mp4", b"x", "video/mp4")


async def test_presigned_urls_can_name_the_public_host(s3_endpoint: str, prefix: str) -> None:
    store = _store(
        s3_endpoint, prefix, public_endpoint="media.prefeitura.example", public_secure=True
    )
    url = await store.presigned_get_url("exports", "t/c/export.mp4", 600)
    assert url.startswith(f"https://media.prefeitura.example/{prefix}exports/t/c/export.mp4?")
    assert "X-Amz-Expires=600" in url


async def test_presigned_urls_under_a_public_path_keep_the_internally_signed_request(
    s3_endpoint: str, prefix: str,
) -> None:
    """``public_url``: signed for the internal endpoint, only the origin replaced by the
    gateway's ``/objects``; the proxy that strips it and sends the internal Host gives the
    store the very request that was signed (here: moto answers it)."""
    store = _store(s3_endpoint, prefix, public_url="https://vms.example.gov.br/objects/")
    await store.ensure_buckets()
    await store.put_bytes("exports", "t/c/export.mp4", b"video", "video/mp4")
    url = await store.presigned_get_url("exports", "t/c/export.mp4", 600)
    public = "https://vms.example.gov.br/objects/"
    assert url.startswith(f"{public}{prefix}exports/t/c/export.mp4?"), url
    assert "X-Amz-Signature=" in url and "X-Amz-SignedHeaders=host" in url
    assert "X-Amz-Credential=" in url
    # What HAProxy's be_objects does: drop the prefix, talk to the internal endpoint.
    internal = f"http://{s3_endpoint}/{url[len(public):]}"
    fetched = httpx.get(internal, headers={"Host": s3_endpoint}, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == b"video"
