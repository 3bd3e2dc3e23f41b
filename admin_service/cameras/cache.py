"""Redis cache of camera list reads, per tenant and query, invalidated on any change.

Each scope (a tenant, or "all" for superadmins) has a version number in Redis; keys embed
it, so bumping the version on a change makes every older entry unreachable (they expire
by TTL). A change bumps its tenant's scope and "all", nobody else's. Entries are the
rendered JSON bytes, answered as they are. A cache outage degrades to a miss, never to an
error. Keys start with the Django cache's ``KEY_PREFIX`` (one namespace per deployment).

A hit costs no round trip of its own: the view names the scope's version and the entry
under the version this process saw last (:func:`prefetch_keys`), authentication reads
them with the token's keys (``accounts.authentication.PrefetchingView``), and only a
changed version, a first read or a miss costs more.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Mapping

import redis
from config.metrics import count_cache_lookup
from config.redis import get_redis
from django.conf import settings

logger = logging.getLogger(__name__)
CACHE_NAME = "camera_list"
ALL = "all"


def _client() -> redis.Redis:
    return get_redis()


def _prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:cameras"


def key_prefix() -> str:
    """What every key of this cache starts with."""
    return f"{_prefix()}:"


def _version_key(scope: str) -> str:
    return f"{_prefix()}:version:{scope}"


def _version(scope: str) -> int:
    key = _version_key(scope)
    client = _client()
    value = client.get(key)
    if value is None:
        # 0: an invalidation of a scope Redis has no version for INCRs it to 1, never
        # back to the version entries were cached under.
        client.set(key, 0, nx=True)
        value = client.get(key) or 0
    return int(value)


#: The version of each scope this process saw last (a guess, checked on every read).
_seen_versions: dict[str, int] = {}


def _key_at(scope: str, version: int, query: str) -> str:
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    return f"{_prefix()}:list:{scope}:{version}:{digest}"


def prefetch_keys(scope: str, query: str) -> list[str]:
    """What a read of ``scope``/``query`` looks at first: the scope's version and, when
    this process has seen one, the entry under it."""
    guess = _seen_versions.get(scope)
    keys = [_version_key(scope)]
    if guess is not None:
        keys.append(_key_at(scope, guess, query))
    return keys


def _lookup(scope: str, query: str, prefetched: Mapping[str, bytes | None]) -> bytes | None:
    keys = prefetch_keys(scope, query)
    if len(keys) == 2:
        found = (prefetched if all(k in prefetched for k in keys)
                 else dict(zip(keys, _client().mget(keys), strict=True)))
        current = found[keys[0]]
        if current is not None and int(current) == _seen_versions[scope]:
            return found[keys[1]]
    version = _version(scope)
    _seen_versions[scope] = version
    value: bytes | None = _client().get(_key_at(scope, version, query))
    return value


def get_list(scope: str, query: str,
             prefetched: Mapping[str, bytes | None] | None = None) -> bytes | None:
    """The cached body of a list read, or None; ``prefetched``: values already read."""
    try:
        value = _lookup(scope, query, prefetched or {})
    except Exception:  # the cache is an optimisation: any failure is a miss
        logger.warning("camera cache unavailable on read", exc_info=True)
        value = None
    count_cache_lookup(CACHE_NAME, hit=value is not None)
    return value


def set_list(scope: str, query: str, value: bytes) -> None:
    try:
        _client().set(_key_at(scope, _version(scope), query), value,
                      ex=settings.CAMERA_CACHE_TTL_SECONDS)
    except Exception:
        logger.warning("camera cache unavailable on write", exc_info=True)


def invalidate(tenant_id: uuid.UUID | str | None) -> None:
    """Make every cached camera list of ``tenant_id`` (and the superadmin view) stale."""
    scopes = [ALL] if tenant_id is None else [str(tenant_id), ALL]
    try:
        pipe = _client().pipeline(transaction=False)
        for scope in scopes:
            pipe.incr(_version_key(scope))
        pipe.execute()
    except Exception:
        logger.warning("camera cache invalidation failed", exc_info=True)
