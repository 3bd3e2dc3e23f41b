"""Redis cache of camera list reads, per tenant and query, invalidated on any change.

Each scope (a tenant, or "all" for superadmins) has a version number in the cache;
keys embed it, so bumping the version on a change makes every older entry unreachable
(they expire by TTL). A change bumps its tenant's scope and "all", nobody else's.
A cache outage degrades to a miss, never to an error.
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


def _key(scope: str, query: str) -> str:
    digest = hashlib.sha256(query.encode()).hexdigest()[:32]
    return f"cameras:list:{scope}:{_version(scope)}:{digest}"


def get_list(scope: str, query: str) -> Any | None:
    try:
        value = cache.get(_key(scope, query))
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
