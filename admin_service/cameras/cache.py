"""Redis cache of camera list reads, per tenant and query, invalidated on any change.

Each scope (a tenant, or "all" for superadmins) has a version number in the cache;
keys embed it, so bumping the version on a change makes every older entry unreachable
(they expire by TTL). A change bumps its tenant's scope and "all", nobody else's.
A cache outage degrades to a miss, never to an error.

A read is one round trip when the scope's version has not changed since this process
last saw it: the version and the entry under the version last seen are fetched together
(``get_many``), and only a changed version costs a second read.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from config.metrics import count_cache_lookup
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
CACHE_NAME = "camera_list"
ALL = "all"


def _version_key(scope: str) -> str:
    return f"cameras:version:{scope}"


def _version(scope: str) -> int:
    key = _version_key(scope)
    value = cache.get(key)
    if value is None:
        cache.add(key, 1, timeout=None)
        value = cache.get(key, 1)
    return int(value)


#: The version of each scope this process saw last (a guess, checked on every read).
_seen_versions: dict[str, int] = {}


def _key_at(scope: str, version: int, query: str) -> str:
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    return f"cameras:list:{scope}:{version}:{digest}"


def _key(scope: str, query: str) -> str:
    return _key_at(scope, _version(scope), query)


def _lookup(scope: str, query: str) -> Any | None:
    guess = _seen_versions.get(scope)
    if guess is not None:
        guessed_key = _key_at(scope, guess, query)
        found = cache.get_many([_version_key(scope), guessed_key])
        current = found.get(_version_key(scope))
        if current is not None and int(current) == guess:
            return found.get(guessed_key)
    version = _version(scope)
    _seen_versions[scope] = version
    return cache.get(_key_at(scope, version, query))


def get_list(scope: str, query: str) -> Any | None:
    try:
        value = _lookup(scope, query)
    except Exception:  # the cache is an optimisation: any failure is a miss
        logger.warning("camera cache unavailable on read", exc_info=True)
        value = None
    count_cache_lookup(CACHE_NAME, hit=value is not None)
    return value


def set_list(scope: str, query: str, value: Any) -> None:
    try:
        cache.set(_key(scope, query), value, timeout=settings.CAMERA_CACHE_TTL_SECONDS)
    except Exception:
        logger.warning("camera cache unavailable on write", exc_info=True)


def invalidate(tenant_id: uuid.UUID | str | None) -> None:
    """Make every cached camera list of ``tenant_id`` (and the superadmin view) stale."""
    scopes = [ALL] if tenant_id is None else [str(tenant_id), ALL]
    for scope in scopes:
        key = _version_key(scope)
        try:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 2, timeout=None)
        except Exception:
            logger.warning("camera cache invalidation failed", exc_info=True)
