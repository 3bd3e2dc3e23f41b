"""One simulated camera's encoder: draws frames at a steady rate and pipes them, raw,
into ffmpeg (libx264 ultrafast/zerolatency, fixed GOP), which sends H.264 over RTP to
the simulator's RTSP server on 127.0.0.1.

Run as ``python -m tools.camera_sim.publisher --name cam1 --plates ABC1D23 --rtp-port N``.
Exits (and takes its ffmpeg with it) on SIGTERM/SIGINT or when its parent goes away.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from tools.camera_sim.onvif.ptz import position_from_motion
from tools.camera_sim.scene import Scene


def encoder_command(width: int, height: int, fps: int, gop_seconds: float, rtp_port: int,
                    ffmpeg: str = "ffmpeg", bitrate_kbps: int = 600,
                    constant_bitrate: bool = False) -> list[str]:
    """ffmpeg's argv for one camera's encoder. ``bitrate_kbps`` caps the rate of the light
    test scenes; with ``constant_bitrate`` the stream is padded (filler NAL units) to
    exactly that rate, as a city camera's 2-6 Mbit/s main stream puts on the network
    whatever the scene, which a simple synthetic scene would not."""
    gop = max(1, round(fps * gop_seconds))
    rate = f"{bitrate_kbps}k"
    if constant_bitrate:
        x264_params = "repeat-headers=1:nal-hrd=cbr:filler=1"
        rate_control = ["-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", rate]
    else:
        x264_params = "repeat-headers=1"
        rate_control = ["-b:v", rate, "-maxrate", f"{bitrate_kbps * 4 // 3}k",
                        "-bufsize", f"{bitrate_kbps * 2 // 3}k"]
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
        "-framerate", str(fps), "-i", "pipe:0",
        "-an", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-pix_fmt", "yuv420p", "-profile:v", "baseline",
        # Fixed GOP: a keyframe every gop_seconds, never an extra one on scene cuts, so
        # HLS and recording segments cut at predictable times.
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-x264-params", x264_params, *rate_control,
        "-f", "rtp", "-payload_type", "96", f"rtp://127.0.0.1:{rtp_port}?pkt_size=1200",
    ]


class PoseFile:
    """A PTZ camera's head motion, written by the simulator (``PtzHead.motion()`` as
    JSON, replaced atomically on every command). Read for every frame: a few hundred
    bytes, and a modification time is too coarse to notice two commands a millisecond
    apart."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._motion: dict[str, object] | None = None

    def pose(self, now: float) -> tuple[float, float, float]:
        with contextlib.suppress(OSError, ValueError):  # not written yet: keep the last
            self._motion = json.loads(self.path.read_text())
        if self._motion is None:
            return (0.0, 0.0, 0.0)
        where = position_from_motion(self._motion, now)
        return (where.pan, where.tilt, where.zoom)


def run(name: str, plates: list[str], width: int, height: int, fps: int, gop_seconds: float,
        rtp_port: int, pose_file: Path | None = None) -> int:
    scene = Scene(name, plates, width, height)
    poses = PoseFile(pose_file) if pose_file is not None else None
    encoder = subprocess.Popen(
        encoder_command(width, height, fps, gop_seconds, rtp_port),
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
    )
    assert encoder.stdin is not None
    stopping = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    parent = os.getppid()
    period = 1.0 / fps
    start = time.monotonic()
    n = 0
    try:
        while not stopping and os.getppid() == parent and encoder.poll() is None:
            # Frame n is due at start + n*period: a slow frame is caught up, not skipped,
            # so the stream's timestamps stay on the wall clock.
            delay = start + n * period - time.monotonic()
            if delay < -1.0:  # was frozen (SIGSTOP) or starved: resync, don't burst
                start, delay = time.monotonic() - n * period, 0.0
            if delay > 0:
                time.sleep(delay)
            mono = time.monotonic()
            pose = poses.pose(mono) if poses is not None else None
            encoder.stdin.write(scene.frame(datetime.now(UTC), mono, pose))
            n += 1
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            encoder.stdin.close()
        try:
            encoder.wait(timeout=3)
        except subprocess.TimeoutExpired:
            encoder.kill()
            encoder.wait(timeout=3)
    return 0 if stopping or os.getppid() != parent else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one simulated camera's encoder")
    parser.add_argument("--name", required=True)
    parser.add_argument("--plates", default="")
    parser.add_argument("--rtp-port", type=int, required=True)
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--gop-seconds", type=float, default=1.0)
    parser.add_argument("--pose-file", type=Path,
                        help="a PTZ camera: draw the panorama at the head's position")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    plates = [p.strip() for p in args.plates.split(",") if p.strip()]
    return run(args.name, plates, width, height, args.fps, args.gop_seconds, args.rtp_port,
               args.pose_file)


if __name__ == "__main__":
    sys.exit(main())
