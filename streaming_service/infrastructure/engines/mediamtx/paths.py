"""MediaMTX path names of cameras, and the names of its recording files."""

from __future__ import annotations

import logging
import re
import uuid
from urllib.parse import quote

logger = logging.getLogger(__name__)

PATH_PREFIX = "cam-"
DEFAULT_RETENTION_DAYS = 90
# MediaMTX's recordPath placeholders (the file name of a segment, its start time); the
# segment hook parses file names written with it.
RECORD_STAMP_FORMAT = "%Y-%m-%d_%H-%M-%S-%f"
# The directory (under the tenant's) of the short recording buffer of events-mode cameras.
EVENT_BUFFER_DIR = "events"
# Names MediaMTX accepts for a path (conf.IsValidPathName): no leading/trailing slash.
_VALID_PATH_NAME = re.compile(r"^[A-Za-z0-9_.~\-][A-Za-z0-9_.~\-/]*$")


# --------------------------------------------------------------------------------------
# Names and URLs
# --------------------------------------------------------------------------------------


def path_name(camera_id: uuid.UUID) -> str:
    """The MediaMTX path that carries one camera's stream."""
    return f"{PATH_PREFIX}{camera_id}"


def camera_id_from_path_name(name: str) -> uuid.UUID | None:
    """The camera behind a MediaMTX path name, or None when the path is not one of ours."""
    if not name.startswith(PATH_PREFIX):
        return None
    try:
        return uuid.UUID(name[len(PATH_PREFIX) :])
    except ValueError:
        return None


def quoted_path_name(name: str) -> str:
    if not name or not _VALID_PATH_NAME.match(name) or name.endswith("/"):
        raise ValueError(f"invalid MediaMTX path name: {name!r}")
    return quote(name, safe="")


# --------------------------------------------------------------------------------------
# Response models (tolerant: MediaMTX adds fields between releases)
