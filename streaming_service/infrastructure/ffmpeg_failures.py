"""ffmpeg's account of a failed connection (stderr, exit status), turned into the stable
``StreamFailure`` codes clients see. The raw text is for the server log only.

The phrases are ffmpeg's own (libavformat's rtsp/tcp and its strerror texts); the order
matters: ``method DESCRIBE failed: 401 Unauthorized`` is about credentials, not about
the stream.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from streaming_service.domain.stream import StreamFailure

_AUTH = ("401 unauthorized", "403 forbidden", "unauthorized", "authorization failed",
         "forbidden")
_UNREACHABLE = ("connection refused", "no route to host", "network is unreachable",
                "host is unreachable", "failed to resolve hostname",
                "name or service not known", "temporary failure in name resolution",
                "cannot assign requested address", "connection reset by peer",
                "broken pipe")
_TIMEOUT = ("timed out",)
_NOT_A_STREAM = ("invalid data found", "server returned", "404 not found",
                 "does not contain any stream", "matches no streams",
                 "could not find codec", "protocol not found", "cseq",
                 "unsupported transport", "method describe failed", "method setup failed",
                 "method play failed", "end of file", "nonmatching transport")
# ffmpeg follows an RTSP 3xx to wherever its Location points, past the camera network
# policy (which checked the first address only); it says so at the "info" log level.
REDIRECT_PHRASE = "redirecting to"


def followed_a_redirect(stderr: str) -> bool:
    """Whether ffmpeg's ``stderr`` (logged at "info" or more) shows an RTSP redirect."""
    return REDIRECT_PHRASE in stderr.lower()


# URLs are cut out before matching: a camera path or port must not decide the code.
_URL = re.compile(r"[a-z][a-z0-9+.\-]*://\S*")
# ffmpeg's RTSP demuxer reports an I/O timeout on a silent peer as "Invalid data found":
# such an answer that took the whole socket timeout is a timeout.
_TIMEOUT_SHARE = 0.9


def classify_ffmpeg_failure(stderr: Iterable[str], *, returncode: int | None,
                            elapsed: float | None = None,
                            io_timeout: float | None = None) -> StreamFailure:
    """The failure ffmpeg's ``stderr`` lines and exit status describe."""
    lines = "\n".join(stderr)
    text = _URL.sub(" ", lines.lower())
    if any(phrase in text for phrase in _AUTH):
        return StreamFailure.AUTH_FAILED
    if any(phrase in text for phrase in _UNREACHABLE):
        return StreamFailure.UNREACHABLE
    if any(phrase in text for phrase in _TIMEOUT):
        return StreamFailure.TIMEOUT
    if any(phrase in text for phrase in _NOT_A_STREAM):
        slow = (elapsed is not None and io_timeout is not None
                and elapsed >= io_timeout * _TIMEOUT_SHARE)
        if slow and ("invalid data found" in text or "end of file" in text):
            return StreamFailure.TIMEOUT
        return StreamFailure.NOT_A_STREAM
    if returncode == 0:
        # The camera ended the session (it went away, or its path was removed).
        return StreamFailure.UNREACHABLE
    return StreamFailure.STREAM_ERROR
