"""What the processes this service starts (ffmpeg, ffprobe) inherit from it, and how
long they live.

uvicorn's supervisor binds the API's listening socket and marks it inheritable so that
its worker processes get it. Under uvloop (uvicorn's loop where installed) a subprocess
keeps every inheritable descriptor whatever ``close_fds`` says, so every ffmpeg a worker
started held the API's port: one that outlived its worker would keep the port bound and
connections queued on a socket nobody accepts. A worker marks what it inherited
close-on-exec once it runs (it starts no process that needs them)."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import sys
from collections.abc import Callable

FD_DIR = "/proc/self/fd"
PR_SET_PDEATHSIG = 1


def keep_descriptors_from_children() -> int:
    """Mark every inheritable descriptor above stderr close-on-exec; how many were."""
    try:
        descriptors = [int(name) for name in os.listdir(FD_DIR)]
    except OSError:  # not Linux: nothing known to leak
        return 0
    marked = 0
    for fd in descriptors:
        if fd <= 2:
            continue
        with contextlib.suppress(OSError):  # closed meanwhile (the listing's own fd)
            if os.get_inheritable(fd):
                os.set_inheritable(fd, False)
                marked += 1
    return marked


@functools.cache
def _prctl() -> Callable[..., int]:
    prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,  # type: ignore[attr-defined]
                      ctypes.c_ulong]
    return prctl


def dies_with_this_process() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child sent SIGTERM when this process dies (Linux:
    ``PR_SET_PDEATHSIG``; elsewhere None). A stream's ffmpeg runs in its own session (a
    signal to the API's process group must not cut it mid-segment), so without this an
    API worker that is killed left its ffmpegs running for ever: still writing the live
    playlist and the recording after another worker had taken the camera over, two
    ffmpegs on one camera. SIGTERM lets ffmpeg close its segment (fMP4 stays playable),
    which the camera's next owner reports as a leftover."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = _prctl()  # looked up here, not between fork and exec
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # it died before the wish was made
            os._exit(1)

    return arm
