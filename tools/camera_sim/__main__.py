"""CLI: ``python -m tools.camera_sim --port 8554 --camera cam1:ABC1D23,BRA2E19``.

Prints one line per camera (``cam1 rtsp://127.0.0.1:8554/cam1``) once every camera
streams, then runs until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from tools.camera_sim.simulator import CameraSimulator, parse_cameras


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.camera_sim",
        description="Simulated RTSP cameras: vehicles with Brazilian plates and a UTC clock.",
    )
    parser.add_argument("--port", type=int, default=8554, help="RTSP port (0: any free one)")
    parser.add_argument("--camera", action="append", required=True,
                        help="NAME[:PLATE,PLATE...], repeatable")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--fps", type=int, default=10)
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT")
    parser.add_argument("--gop-seconds", type=float, default=1.0,
                        help="seconds between keyframes")
    parser.add_argument("--onvif", action="store_true",
                        help="also serve ONVIF Device/Media/PTZ per camera (needs --user)")
    parser.add_argument("--onvif-camera", action="append", default=[], metavar="NAME",
                        help="only this camera is an ONVIF PTZ camera (repeatable; "
                             "the others keep their traffic scene); implies --onvif")
    parser.add_argument("--discovery-port", type=int, default=0,
                        help="UDP port on 127.0.0.1 answering WS-Discovery probes (--onvif)")
    parser.add_argument("--onvif-http-digest", action="append", default=[], metavar="NAME",
                        help="this camera's ONVIF services also want HTTP Digest auth "
                             "(repeatable)")
    parser.add_argument("--verbose", action="store_true", help="show server/ffmpeg output")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    done = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with CameraSimulator(
        parse_cameras(args.camera), port=args.port, user=args.user, password=args.password,
        fps=args.fps, size=(width, height), gop_seconds=args.gop_seconds, verbose=args.verbose,
        onvif=args.onvif_camera or args.onvif, discovery_port=args.discovery_port,
        http_digest=args.onvif_http_digest,
    ) as sim:
        for name in sim.cameras:
            onvif = (f" {sim.onvif(name).device_url}" if name in sim.onvif_cameras else "")
            print(name, sim.url(name) + onvif, flush=True)
        if sim.onvif_enabled:
            print("ws-discovery", f"udp://127.0.0.1:{sim.discovery_port}", flush=True)
        done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
