"""Object storage adapters for the buckets of SPEC §4 (``ports.BUCKETS``).

``S3ObjectStore`` talks to MinIO (or any S3) through the ``minio`` SDK; its calls are
blocking, so each one runs in a worker thread. ``FilesystemObjectStore`` keeps objects
under a local directory (one subdirectory per bucket) and hands out HMAC-signed,
expiring URLs that the API checks with ``verify_signature`` before serving the file.

Both reject keys that could escape their bucket (``..``, absolute paths, NUL) with
ValueError, so a key built from user input can never reach another bucket or file.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import io
import logging
import mimetypes
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED, Filter
from minio.error import S3Error
from minio.lifecycleconfig import Expiration, LifecycleConfig, NoncurrentVersionExpiration, Rule
from minio.sse import SseS3
from minio.sseconfig import Rule as SseRule
from minio.sseconfig import SSEConfig
from minio.versioningconfig import VersioningConfig

from shared_kernel.signing import constant_time_equals
from streaming_service.domain.errors import ObjectNotFound, ObjectStoreError
from streaming_service.domain.ports import BUCKETS

logger = logging.getLogger(__name__)

DEFAULT_LIFECYCLE_DAYS = 90
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # S3's own ceiling for SigV4 presigned URLs
_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchObject", "NotFound", "NoSuchVersion"}
_UNSUPPORTED_CODES = {"NotImplemented", "MalformedXML", "XNotImplemented", "InvalidRequest"}


def validate_key(key: str) -> str:
    """The key if it is safe as an object name and as a relative file path, else ValueError."""
    if not isinstance(key, str) or not key:
        raise ValueError("object key must be a non-empty string")
    if "\x00" in key:
        raise ValueError("object key must not contain NUL")
    if key.startswith(("/", "\\")) or (len(key) > 1 and key[1] == ":"):
        raise ValueError("object key must be relative")
    if "\\" in key:
        raise ValueError("object key must use '/' as separator")
    if len(key.encode()) > 1024:
        raise ValueError("object key is longer than 1024 bytes")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError("object key must not contain empty, '.' or '..' segments")
    return key


def validate_bucket(bucket: str) -> str:
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}; expected one of {', '.join(BUCKETS)}")
    return bucket


def _check_expiry(expires_seconds: int) -> None:
    if not 1 <= expires_seconds <= MAX_PRESIGN_SECONDS:
        raise ValueError(f"expires_seconds must be between 1 and {MAX_PRESIGN_SECONDS}")


# --------------------------------------------------------------------------------------
# S3 / MinIO
# --------------------------------------------------------------------------------------


class S3ObjectStore:
    """ObjectStore on S3/MinIO through the ``minio`` SDK.

    Bucket names may carry a prefix (several deployments on one server). Uploads ask for
    SSE-S3 when ``server_side_encryption`` is on. ``ensure_buckets`` creates the buckets
    and, where the server supports them, turns on versioning, default encryption and a
    lifecycle rule that expires objects after ``lifecycle_days``; a server that lacks a
    feature gets a log line, not a failure. HTTP calls have connect/read timeouts and a
    bounded number of urllib3 retries. Presigned URLs use ``public_endpoint`` when the
    server is reached under another name from outside (``minio:9000`` vs a public host).
    With ``public_url`` instead (``https://vms.example/objects``), a URL is signed for the
    internal endpoint and only its origin is replaced: a reverse proxy in front (HAProxy,
    ``be_objects``) strips the path prefix and sends the internal ``Host`` on, so the
    signature, its expiry and the single object it names hold unchanged.
    """

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        *,
        secure: bool = False,
        region: str = "us-east-1",
        bucket_prefix: str = "",
        server_side_encryption: bool = False,
        lifecycle_days: int = DEFAULT_LIFECYCLE_DAYS,
        noncurrent_version_days: int = 7,
        versioning: bool = True,
        connect_timeout_seconds: float = 5.0,
        read_timeout_seconds: float = 60.0,
        max_retries: int = 3,
        public_endpoint: str | None = None,
        public_secure: bool | None = None,
        public_url: str | None = None,
        client: Minio | None = None,
    ) -> None:
        self._prefix = bucket_prefix
        self._region = region
        self._sse = server_side_encryption
        self._lifecycle_days = lifecycle_days
        self._noncurrent_days = noncurrent_version_days
        self._versioning = versioning
        if client is None:
            http = urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=connect_timeout_seconds, read=read_timeout_seconds),
                retries=urllib3.Retry(
                    total=max_retries,
                    backoff_factor=0.2,
                    status_forcelist=[500, 502, 503, 504],
                ),
                maxsize=10,
            )
            client = Minio(
                endpoint,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure,
                region=region,
                http_client=http,
            )
        self._client = client
        self._internal_origin = f"{'https' if secure else 'http'}://{endpoint}"
        self._public_url = public_url.rstrip("/") if public_url else None
        # Presigning is offline (the region is known), so a client for the public host
        # makes URLs that browsers outside the internal network can fetch.
        self._presigner = client
        if public_endpoint:
            self._presigner = Minio(
                public_endpoint,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure if public_secure is None else public_secure,
                region=region,
            )

    def bucket_name(self, bucket: str) -> str:
        return f"{self._prefix}{validate_bucket(bucket)}"

    async def put_file(self, bucket: str, key: str, path: Path, content_type: str) -> int:
        name, key = self.bucket_name(bucket), validate_key(key)
        size = os.stat(path).st_size
        await self._run(
            "put_file",
            bucket,
            key,
            lambda: self._client.fput_object(
                name, key, str(path), content_type=content_type, sse=self._sse_headers()
            ),
        )
        return size

    async def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> int:
        name, key = self.bucket_name(bucket), validate_key(key)
        await self._run(
            "put_bytes",
            bucket,
            key,
            lambda: self._client.put_object(
                name,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                sse=self._sse_headers(),
            ),
        )
        return len(data)

    async def get_bytes(self, bucket: str, key: str) -> bytes:
        name, key = self.bucket_name(bucket), validate_key(key)

        def read() -> bytes:
            response = self._client.get_object(name, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        data: bytes = await self._run("get_bytes", bucket, key, read)
        return data

    async def delete(self, bucket: str, key: str) -> None:
        name, key = self.bucket_name(bucket), validate_key(key)
        await self._run("delete", bucket, key, lambda: self._client.remove_object(name, key))

    async def exists(self, bucket: str, key: str) -> bool:
        name, key = self.bucket_name(bucket), validate_key(key)
        try:
            await self._run("exists", bucket, key, lambda: self._client.stat_object(name, key))
        except ObjectNotFound:
            return False
        return True

    async def presigned_get_url(self, bucket: str, key: str, expires_seconds: int) -> str:
        name, key = self.bucket_name(bucket), validate_key(key)
        _check_expiry(expires_seconds)
        url: str = await self._run(
            "presign",
            bucket,
            key,
            lambda: self._presigner.presigned_get_object(
                name, key, expires=timedelta(seconds=expires_seconds)
            ),
        )
        if self._public_url and url.startswith(self._internal_origin + "/"):
            url = self._public_url + url[len(self._internal_origin):]
        return url

    async def ensure_buckets(self) -> None:
        await asyncio.to_thread(self._ensure_buckets_sync)

    # -- helpers ----------------------------------------------------------------------

    def _sse_headers(self) -> SseS3 | None:
        return SseS3() if self._sse else None

    async def _run(self, op: str, bucket: str, key: str, call: Callable[[], Any]) -> Any:
        try:
            return await asyncio.to_thread(call)
        except S3Error as exc:
            if exc.code in _NOT_FOUND_CODES:
                raise ObjectNotFound(bucket, key) from exc
            raise ObjectStoreError(
                f"object store {op} failed: {exc.code}", {"bucket": bucket, "key": key}
            ) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if isinstance(exc, FileNotFoundError) and op == "put_file":
                raise
            raise ObjectStoreError(
                f"object store {op} failed: {type(exc).__name__}", {"bucket": bucket, "key": key}
            ) from exc

    def _ensure_buckets_sync(self) -> None:
        for bucket in BUCKETS:
            name = self.bucket_name(bucket)
            try:
                if not self._client.bucket_exists(name):
                    self._client.make_bucket(name, location=self._region)
                    logger.info("bucket created", extra={"bucket": name})
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise ObjectStoreError(f"cannot create bucket {name}: {exc.code}") from exc
            if self._versioning:
                config = VersioningConfig(ENABLED)
                self._optional(
                    name, "versioning", partial(self._client.set_bucket_versioning, name, config)
                )
            if self._sse:
                sse = SSEConfig(SseRule.new_sse_s3_rule())
                self._optional(
                    name,
                    "default encryption",
                    partial(self._client.set_bucket_encryption, name, sse),
                )
            if self._lifecycle_days > 0:
                rules = self._lifecycle()
                self._optional(
                    name, "lifecycle", partial(self._client.set_bucket_lifecycle, name, rules)
                )

    def _lifecycle(self) -> LifecycleConfig:
        return LifecycleConfig(
            [
                Rule(
                    ENABLED,
                    rule_filter=Filter(prefix=""),
                    rule_id=f"gtv-expire-{self._lifecycle_days}d",
                    expiration=Expiration(days=self._lifecycle_days),
                    noncurrent_version_expiration=NoncurrentVersionExpiration(
                        noncurrent_days=self._noncurrent_days
                    ),
                )
            ]
        )

    @staticmethod
    def _optional(bucket: str, feature: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except S3Error as exc:
            if exc.code not in _UNSUPPORTED_CODES:
                raise ObjectStoreError(f"cannot set {feature} on {bucket}: {exc.code}") from exc
            logger.warning(
                "object store does not support a bucket feature; continuing without it",
                extra={"bucket": bucket, "feature": feature, "code": exc.code},
            )


# --------------------------------------------------------------------------------------
# Local filesystem
# --------------------------------------------------------------------------------------


class FilesystemObjectStore:
    """ObjectStore on a local directory: ``<root>/<bucket>/<key>``.

    Writes go to a temporary file in the target directory and are renamed into place
    (``os.replace``), so a reader sees the old object or the new one, never half a file.
    Presigned URLs point at ``<base_url>/<bucket>/<key>?expires=<unix>&sig=<hmac>``; the
    API verifies them with ``verify_signature`` and serves ``path_for(bucket, key)``.
    """

    def __init__(
        self,
        root: Path,
        secret: str | bytes,
        *,
        base_url: str = "/api/streaming/media",
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret_bytes = secret.encode() if isinstance(secret, str) else secret
        if len(secret_bytes) < 16:
            raise ValueError("the media URL signing secret must be at least 16 bytes")
        self._root = Path(root)
        self._secret = secret_bytes
        self._base_url = base_url.rstrip("/")
        self._clock = clock

    @property
    def root(self) -> Path:
        return self._root

    def path_for(self, bucket: str, key: str) -> Path:
        """Where the object lives on disk; ValueError if bucket/key are unsafe."""
        bucket_dir = (self._root / validate_bucket(bucket)).resolve()
        target = (bucket_dir / validate_key(key)).resolve()
        # A symlink inside the tree must not lead out of the bucket either.
        if not target.is_relative_to(bucket_dir) or target == bucket_dir:
            raise ValueError("object key escapes its bucket")
        return target

    @staticmethod
    def guess_content_type(key: str) -> str:
        guessed, _ = mimetypes.guess_type(key)
        return guessed or "application/octet-stream"

    async def put_file(self, bucket: str, key: str, path: Path, content_type: str) -> int:
        target = self.path_for(bucket, key)

        def copy() -> int:
            with open(path, "rb") as source:
                return _atomic_write(target, _chunks(source))

        return await asyncio.to_thread(copy)

    async def put_bytes(self, bucket: str, key: str, data: bytes, content_type: str) -> int:
        target = self.path_for(bucket, key)
        return await asyncio.to_thread(_atomic_write, target, [data])

    async def get_bytes(self, bucket: str, key: str) -> bytes:
        target = self.path_for(bucket, key)
        try:
            return await asyncio.to_thread(target.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFound(bucket, key) from exc

    async def delete(self, bucket: str, key: str) -> None:
        target = self.path_for(bucket, key)
        await asyncio.to_thread(self._delete_sync, target, self._root / bucket)

    async def exists(self, bucket: str, key: str) -> bool:
        target = self.path_for(bucket, key)
        return await asyncio.to_thread(target.is_file)

    async def presigned_get_url(self, bucket: str, key: str, expires_seconds: int) -> str:
        self.path_for(bucket, key)
        _check_expiry(expires_seconds)
        expires = int(self._clock()) + expires_seconds
        sig = self._sign(bucket, key, expires)
        return f"{self._base_url}/{bucket}/{quote(key, safe='/')}?expires={expires}&sig={sig}"

    def verify_signature(self, bucket: str, key: str, expires: int | str, sig: str) -> bool:
        """True when ``sig`` was issued by this store for this object and has not expired."""
        try:
            self.path_for(bucket, key)
            expires_at = int(expires)
        except (ValueError, TypeError):
            return False
        if expires_at < self._clock():
            return False
        return constant_time_equals(sig, self._sign(bucket, key, expires_at))

    async def ensure_buckets(self) -> None:
        def make() -> None:
            for bucket in BUCKETS:
                (self._root / bucket).mkdir(parents=True, exist_ok=True)

        await asyncio.to_thread(make)

    # -- helpers ----------------------------------------------------------------------

    def _sign(self, bucket: str, key: str, expires: int) -> str:
        message = f"{bucket}\n{key}\n{expires}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    @staticmethod
    def _delete_sync(target: Path, bucket_dir: Path) -> None:
        target.unlink(missing_ok=True)
        # Prune directories the object leaves empty, so retention does not leave a tree
        # of empty day folders behind.
        parent, stop = target.parent, bucket_dir.resolve()
        while parent != stop and parent.is_relative_to(stop):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


def _chunks(source: BinaryIO, size: int = 1 << 20) -> Iterable[bytes]:
    while chunk := source.read(size):
        yield chunk


def _atomic_write(target: Path, chunks: Iterable[bytes]) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    written = 0
    try:
        with os.fdopen(fd, "wb") as tmp:
            for chunk in chunks:
                tmp.write(chunk)
                written += len(chunk)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return written
