"""The camera simulator is a real RTSP source: H.264 over RTSP with auth, per-camera
paths that can disappear and come back, and a clean shutdown."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from streaming_service.infrastructure.ffmpeg_tools import snapshot
from tests.integration.conftest import SIM_SIZE, SIMULATOR_POLICY
from tools.camera_sim.scene import clock_box
from tools.camera_sim.simulator import (
    DEFAULT_SYSTEM_PYTHON,
    CameraSimulator,
    CameraSpec,
    SimulatorError,
    render_clip,
    rtsp_describe,
)


def _ffprobe(url: str) -> dict[str, object]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-select_streams", "v:0",
         "-show_streams", "-print_format", "json", url],
        capture_output=True, text=True, timeout=20, check=True,
    )
    streams: list[dict[str, object]] = json.loads(result.stdout)["streams"]
    return streams[0]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_each_camera_streams_h264_at_the_configured_size(camera_urls: dict[str, str]) -> None:
    for url in camera_urls.values():
        stream = _ffprobe(url)
        assert stream["codec_name"] == "h264"
        assert (stream["width"], stream["height"]) == SIM_SIZE


def test_camera_refuses_a_viewer_without_credentials(camera_sim: CameraSimulator) -> None:
    assert rtsp_describe(camera_sim.url("cam1", credentials=False)) == 401
    assert rtsp_describe(camera_sim.url("cam1")) == 200


def test_unknown_camera_path_answers_404(camera_sim: CameraSimulator) -> None:
    url = camera_sim.url("cam1").replace("/cam1", "/nope")
    assert rtsp_describe(url) == 404


async def test_frames_carry_the_burned_in_clock(camera_urls: dict[str, str]) -> None:
    jpeg = await snapshot(camera_urls["cam1"], timeout=20, address_policy=SIMULATOR_POLICY)
    image = Image.open(io.BytesIO(jpeg)).convert("L")
    assert image.size == SIM_SIZE
    left, top, right, bottom = clock_box(*SIM_SIZE)
    band = image.crop((left, top, right, bottom))
    histogram = band.histogram()
    dark, bright = sum(histogram[:60]), sum(histogram[200:])
    # White digits on a black band: mostly dark, with a real share of bright pixels.
    assert dark > 0.5 * band.width * band.height
    assert bright > 0.03 * band.width * band.height


def test_paused_camera_disappears_and_comes_back(private_camera: CameraSimulator) -> None:
    private_camera.pause("solo")
    assert rtsp_describe(private_camera.url("solo")) == 404
    private_camera.resume("solo")  # waits until video flows again
    assert rtsp_describe(private_camera.url("solo")) == 200


def test_stop_leaves_no_process_behind() -> None:
    sim = CameraSimulator([CameraSpec("a", ("ABC1234",)), CameraSpec("b")])
    sim.start()
    pids = sim.pids()
    assert len(pids) == 3 and all(_alive(pid) for pid in pids)
    sim.stop()
    assert not any(_alive(pid) for pid in pids)


def test_a_password_that_starts_with_a_dash_is_taken_as_the_password() -> None:
    # Generated passwords (secrets.token_urlsafe) start with "-" one time in 64.
    with CameraSimulator([CameraSpec("a")], user="demo", password="-k9_Xq") as sim:
        assert rtsp_describe(sim.url("a")) == 200
        assert rtsp_describe(sim.url("a", credentials=False)) == 401


def test_camera_spec_parses_the_cli_form() -> None:
    spec = CameraSpec.parse("cam1:abc1d23, BRA-2E19")
    assert spec == CameraSpec("cam1", ("ABC1D23", "BRA2E19"))
    with pytest.raises(ValueError):
        CameraSpec.parse("cam1:NOTAPLATE")
    with pytest.raises(ValueError):
        CameraSpec.parse("bad/name")


def test_missing_system_python_is_reported() -> None:
    with pytest.raises(SimulatorError):
        CameraSimulator([CameraSpec("x")], system_python="/nonexistent/python3").start()


def _flaky_python(tmp_path: Path, failures: int) -> Path:
    """A "system python" whose first ``failures`` runs print to stderr and exit before
    the RTSP server is ready, as a crashing server would; later runs are the real one."""
    count = tmp_path / "runs"
    script = tmp_path / "python3"
    script.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{count}" 2>/dev/null || echo 0); echo $((n + 1)) > "{count}"\n'
        f'if [ "$n" -lt {failures} ]; then echo "boom $n" >&2; exit 3; fi\n'
        f'exec {DEFAULT_SYSTEM_PYTHON} "$@"\n')
    script.chmod(0o755)
    return script


def test_a_server_that_exits_before_ready_is_started_again(tmp_path: Path) -> None:
    python = _flaky_python(tmp_path, failures=1)
    with CameraSimulator([CameraSpec("x", ("ABC1234",))], system_python=str(python)) as sim:
        assert _ffprobe(sim.url("x"))["codec_name"] == "h264"
    assert (tmp_path / "runs").read_text().strip() == "2"


def test_a_server_that_keeps_exiting_is_reported_with_what_it_printed(tmp_path: Path) -> None:
    python = _flaky_python(tmp_path, failures=5)
    with pytest.raises(SimulatorError, match="boom 2"):
        CameraSimulator([CameraSpec("x")], system_python=str(python)).start()
    assert (tmp_path / "runs").read_text().strip() == "3"


@pytest.fixture(scope="module")
def city_clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A short main and sub stream clip at a constant bitrate (small sizes: a test)."""
    work = tmp_path_factory.mktemp("clips")
    main = render_clip(work / "main.ts", seconds=3, fps=10, size=(640, 360),
                       bitrate_kbps=1200, constant_bitrate=True)
    sub = render_clip(work / "sub.ts", seconds=3, fps=10, size=(320, 180), bitrate_kbps=256,
                      constant_bitrate=True)
    return main, sub


def test_a_constant_bitrate_clip_fills_its_rate(city_clips: tuple[Path, Path]) -> None:
    main, _ = city_clips
    kbits = main.stat().st_size * 8 / 1000 / 3
    # MPEG-TS framing adds a few percent; without filler this scene is a fraction of it.
    assert 1100 < kbits < 1500


def test_clip_cameras_share_publishers_and_serve_a_main_and_a_sub_stream(
        city_clips: tuple[Path, Path]) -> None:
    main, sub = city_clips
    specs = [CameraSpec(f"c{i}") for i in range(3)]
    with CameraSimulator(specs, user="viewer", password="s3cret-pw", clip=main, sub_clip=sub,
                         clip_fanout=2) as sim:
        # The server, then one publisher per two mounts: 2 for the mains, 2 for the subs.
        pids = sim.pids()
        assert len(pids) == 5
        for spec in specs:
            assert (_ffprobe(sim.url(spec.name))["width"],
                    _ffprobe(sim.url(spec.name, stream="sub"))["width"]) == (640, 320)
        # A client that copies the stream into fragmented MP4 (as the engine's recording
        # does) needs the parameter sets before the first frame.
        copied = subprocess.run(
            ["ffmpeg", "-v", "error", "-rtsp_transport", "tcp", "-i", sim.url("c2"),
             "-map", "0:v:0", "-c", "copy", "-frames:v", "15",
             "-movflags", "+frag_keyframe+empty_moov", "-f", "mp4", "pipe:1"],
            capture_output=True, timeout=30)
        assert copied.returncode == 0, copied.stderr
        assert b"avcC" in copied.stdout[:4096]
        sim.pause("c1")
        assert rtsp_describe(sim.url("c1")) == 404
        assert rtsp_describe(sim.url("c1", stream="sub")) == 404
        assert rtsp_describe(sim.url("c0", stream="sub")) == 200
        sim.resume("c1")
        assert rtsp_describe(sim.url("c1", stream="sub")) == 200
        with pytest.raises(KeyError):
            sim.url("nope", stream="sub")
        with pytest.raises(SimulatorError):  # its publisher serves c1 as well
            sim.freeze("c0")
    assert not any(_alive(pid) for pid in pids)


def test_a_sub_stream_needs_a_main_clip(city_clips: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError):
        CameraSimulator([CameraSpec("c0")], sub_clip=city_clips[1])
