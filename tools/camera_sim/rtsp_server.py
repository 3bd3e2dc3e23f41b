"""The simulator's RTSP server: GStreamer's gst-rtsp-server, one mount per camera.

Runs under the *system* Python (``/usr/bin/python3``), because PyGObject and the
GStreamer typelibs come from Debian (``python3-gi``, ``gir1.2-gst-rtsp-server-1.0``),
not from PyPI. It imports nothing from the project.

Each camera ``NAME`` gets a UDP port on 127.0.0.1 where its publisher (ffmpeg) sends
H.264 over RTP, and a shared mount ``rtsp://127.0.0.1:PORT/NAME`` that re-payloads that
RTP for any number of RTSP clients (UDP or TCP-interleaved). Optional Basic auth.
A name may have a second segment (``cam1/sub``, a camera's sub stream); pausing ``cam1``
takes its sub streams with it.

Protocol with the parent, one JSON object per line:
  stdout: {"event": "ready", "port": 8554, "cameras": {"cam1": 40001, ...}}
          {"event": "paused"|"resumed", "camera": "cam1"}
          {"event": "error", "message": "..."}
  stdin:  "pause NAME" (unmount and drop its clients: the camera disappears),
          "resume NAME", "quit". End of stdin also quits, so the server never outlives
          its parent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sys
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

RTP_CAPS = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96"


def _ephemeral_ports() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _free_rtp_port(taken: set[int]) -> int:
    """An even UDP port that is free, with the odd one above it, below the kernel's
    ephemeral range. The publisher's RTP goes to the even port and its RTCP to the odd
    one, so no other mount may have that; and ffmpeg binds its own sending sockets in
    consecutive pairs from the ephemeral range, where it could take a port that a mount
    only binds when its media is first prepared."""
    low, high = _ephemeral_ports()
    # Below the ephemeral range, or above it where a host starts that range low.
    first, last = (10000, low - 2) if low - 10000 >= 4000 else ((high + 2) & ~1, 65534)
    if last - first < 2000:
        first, last = 10000, 65534  # no room outside it: the bind probe alone decides
    rng = random.SystemRandom()
    for _ in range(1000):
        port = rng.randrange(first, last, 2)
        if port in taken or port + 1 in taken:
            continue
        try:
            with (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtp,
                  socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rtcp):
                rtp.bind(("127.0.0.1", port))
                rtcp.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        taken.update((port, port + 1))
        return port
    raise RuntimeError("no free UDP port pair for a camera")


def _emit(event: str, **fields: object) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class SimulatorServer:
    def __init__(self, port: int, cameras: list[str], user: str | None, password: str | None):
        self.loop = GLib.MainLoop()
        self.server = GstRtspServer.RTSPServer()
        # Loopback unless told otherwise (the container of compose.test.yml listens on
        # its network: GTV_CAMERA_SIM_BIND=0.0.0.0 in tools/camera_sim/Dockerfile).
        self.server.set_address(os.environ.get("GTV_CAMERA_SIM_BIND", "127.0.0.1"))
        self.server.set_service(str(port))
        self.mounts = self.server.get_mount_points()
        # Clients are served by a few threads rather than this main loop alone: sending
        # RTP over TCP is a dispatch per packet, and a hundred 4 Mbit/s streams are more
        # than one thread can send.
        self.server.get_thread_pool().set_max_threads(max(2, 2 * (os.cpu_count() or 1)))
        self.user = user
        taken: set[int] = set()
        self.udp_ports = {name: _free_rtp_port(taken) for name in cameras}
        self.clients: dict[GstRtspServer.RTSPClient, set[str]] = {}
        self.held: dict[str, GstRtspServer.RTSPMedia] = {}
        self.paused: set[str] = set()
        if user is not None:
            auth = GstRtspServer.RTSPAuth()
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", "camera-viewer")
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password or ""), token)
            self.server.set_auth(auth)
        for name in cameras:
            self._mount(name)
        self.server.connect("client-connected", self._on_client_connected)

    def _factory(self, name: str) -> GstRtspServer.RTSPMediaFactory:
        factory = GstRtspServer.RTSPMediaFactory()
        udpsrc = (f"udpsrc address=127.0.0.1 port={self.udp_ports[name]} buffer-size=4194304 "
                  "retrieve-sender-address=false")
        # Re-payload what the publisher sends. h264parse puts SPS/PPS inside every
        # keyframe's access unit, so a client joining mid-stream decodes from the next
        # GOP; the payloader must not send them again as separate packets (config-interval
        # 0), or ffmpeg sees two access units with one timestamp at every keyframe. (It
        # also sends each frame's packets as one list: measured cheaper than forwarding
        # the publisher's packets one by one.)
        factory.set_launch(
            f'( {udpsrc} caps="{RTP_CAPS}" ! rtph264depay ! h264parse config-interval=-1 '
            "! rtph264pay name=pay0 pt=96 config-interval=0 )"
        )
        factory.set_shared(True)
        factory.connect("media-configure", self._on_media_configure, name)
        if self.user is not None:
            permissions = GstRtspServer.RTSPPermissions()
            permissions.add_permission_for_role("camera-viewer", "media.factory.access", True)
            permissions.add_permission_for_role("camera-viewer", "media.factory.construct", True)
            factory.set_permissions(permissions)
        return factory

    # A shared media is unprepared when its last client leaves, and a client arriving
    # during that teardown gets 503. Holding one extra "prepare" on it keeps every mounted
    # camera's pipeline up (a real camera is always on); pause() lets it go.
    def _on_media_configure(self, _factory: object, media: GstRtspServer.RTSPMedia,
                            name: str) -> None:
        media.connect("prepared", self._on_media_prepared, name)

    def _on_media_prepared(self, media: GstRtspServer.RTSPMedia, name: str) -> None:
        if name not in self.held and name.split("/")[0] not in self.paused:
            self.held[name] = media
            # Synchronously: "prepared" is emitted under the media's (recursive) state
            # lock, so this only bumps the prepare count before any client can leave.
            media.prepare(None)

    def _release(self, name: str) -> None:
        media = self.held.pop(name, None)
        if media is not None:
            media.unprepare()

    def _mount(self, name: str) -> None:
        self.mounts.add_factory(f"/{name}", self._factory(name))

    # Clients are tracked by the paths they asked for, so pausing one camera drops only
    # that camera's viewers.
    def _on_client_connected(self, _server: object, client: GstRtspServer.RTSPClient) -> None:
        self.clients[client] = set()
        for signal_name in ("describe-request", "setup-request", "play-request"):
            client.connect(signal_name, self._on_request)
        client.connect("closed", self._on_client_closed)

    def _on_request(self, client: GstRtspServer.RTSPClient, ctx: object) -> None:
        uri = getattr(ctx, "uri", None)
        path = getattr(uri, "abspath", None) if uri is not None else None
        paths = self.clients.get(client)  # None once closed (another thread)
        if path and paths is not None:
            paths.add(path.strip("/").split("/")[0])

    def _on_client_closed(self, client: GstRtspServer.RTSPClient) -> None:
        self.clients.pop(client, None)

    def _streams(self, camera: str) -> list[str]:
        """The camera's mounts: its own and its sub streams'."""
        return [m for m in self.udp_ports if m == camera or m.startswith(f"{camera}/")]

    def pause(self, name: str) -> None:
        if name not in self.paused:
            self.paused.add(name)
            for mount in self._streams(name):
                self.mounts.remove_factory(f"/{mount}")
            for client, paths in list(self.clients.items()):
                if name in paths:
                    client.close()
            for mount in self._streams(name):
                self._release(mount)
        _emit("paused", camera=name)

    def resume(self, name: str) -> None:
        if name in self.paused:
            self.paused.discard(name)
            for mount in self._streams(name):
                self._mount(mount)
        _emit("resumed", camera=name)

    def _on_stdin(self, channel: GLib.IOChannel, condition: GLib.IOCondition) -> bool:
        if condition & (GLib.IOCondition.HUP | GLib.IOCondition.ERR):
            line = ""
        else:
            line = channel.readline()
        if not line:  # parent gone: never outlive it
            self.loop.quit()
            return False
        parts = line.split()
        if not parts:
            return True
        command, args = parts[0], parts[1:]
        if command == "quit":
            self.loop.quit()
            return False
        if command in ("pause", "resume") and len(args) == 1 and args[0] in self.udp_ports:
            getattr(self, command)(args[0])
        else:
            _emit("error", message=f"unknown command: {line.strip()}")
        return True

    def run(self) -> None:
        if self.server.attach(None) == 0:
            _emit("error", message="cannot bind the RTSP port")
            sys.exit(2)
        channel = GLib.IOChannel.unix_new(sys.stdin.fileno())
        GLib.io_add_watch(
            channel,
            GLib.PRIORITY_DEFAULT,
            GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR,
            self._on_stdin,
        )
        for signum in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, self._quit)
        _emit("ready", port=self.server.get_bound_port(), cameras=self.udp_ports)
        self.loop.run()

    def _quit(self) -> bool:
        self.loop.quit()
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8554, help="0 picks a free port")
    parser.add_argument("--camera", action="append", required=True,
                        help="mount name (NAME or NAME/sub)")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    Gst.init(None)
    SimulatorServer(args.port, args.camera, args.user, args.password).run()


if __name__ == "__main__":
    main()
