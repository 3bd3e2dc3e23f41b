"""What the processes this service starts (ffmpeg, ffprobe) inherit from it.

uvicorn's supervisor binds the API's listening socket and marks it inheritable so that
its worker processes get it. Under uvloop (uvicorn's loop where installed) a subprocess
keeps every inheritable descriptor whatever ``close_fds`` says, so every ffmpeg a worker
started held the API's port: one that outlived its worker would keep the port bound and
connections queued on a socket nobody accepts. A worker marks what it inherited
close-on-exec once it runs (it starts no process that needs them)."""

from __future__ import annotations

import contextlib
import os

FD_DIR = "/proc/self/fd"


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
