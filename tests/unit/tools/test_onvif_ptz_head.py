"""The simulated camera's PTZ head and WS-Security check, on a hand-driven clock."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from tools.camera_sim.onvif.ptz import Limits, Position, PresetLimitReached, PtzHead, UnknownPreset
from tools.camera_sim.onvif.server import SoapFault, parse_duration
from tools.camera_sim.onvif.wsse import (
    DIGEST_TYPE,
    WSSE,
    WSU,
    UsernameTokenChecker,
    password_digest,
)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def head(clock: Clock) -> PtzHead:
    return PtzHead(clock=clock, max_speed=Position(0.5, 0.25, 0.1))


def approx(position: Position) -> tuple[float, float, float]:
    return (pytest.approx(position.pan), pytest.approx(position.tilt),
            pytest.approx(position.zoom))


def as_tuple(position: Position) -> tuple[float, float, float]:
    return (position.pan, position.tilt, position.zoom)


def test_continuous_move_runs_at_velocity_times_max_speed(head: PtzHead, clock: Clock) -> None:
    head.continuous_move({"pan": 1.0, "tilt": -0.5, "zoom": 1.0})
    clock.t += 1.0
    assert as_tuple(head.position()) == approx(Position(0.5, -0.125, 0.1))
    assert head.moving() == {"pan_tilt": True, "zoom": True}


def test_continuous_move_stops_at_its_timeout(head: PtzHead, clock: Clock) -> None:
    head.continuous_move({"pan": 1.0}, timeout=0.5)
    clock.t += 10.0
    assert head.position().pan == pytest.approx(0.25)
    assert head.moving()["pan_tilt"] is False


def test_axes_are_clamped_to_their_limits_and_then_report_idle(head: PtzHead, clock: Clock
                                                               ) -> None:
    head.continuous_move({"pan": -1.0, "zoom": -1.0})
    clock.t += 60.0
    assert as_tuple(head.position()) == approx(Position(-1.0, 0.0, 0.0))
    assert head.moving() == {"pan_tilt": False, "zoom": False}


def test_stop_freezes_only_the_named_axes(head: PtzHead, clock: Clock) -> None:
    head.continuous_move({"pan": 1.0, "tilt": 0.0, "zoom": 1.0})
    clock.t += 1.0
    head.stop(pan_tilt=True, zoom=False)
    clock.t += 1.0
    assert as_tuple(head.position()) == approx(Position(0.5, 0.0, 0.2))


def test_absolute_move_travels_at_speed_and_arrives(head: PtzHead, clock: Clock) -> None:
    head.absolute_move(Position(0.5, 0.5, 0.0))
    clock.t += 1.0
    mid = head.position()
    assert mid.pan == pytest.approx(0.5)  # 0.5/s: there in 1 s
    assert mid.tilt == pytest.approx(0.25)  # 0.25/s: half way
    assert head.moving()["pan_tilt"] is True
    clock.t += 5.0
    assert as_tuple(head.position()) == approx(Position(0.5, 0.5, 0.0))
    assert head.moving()["pan_tilt"] is False


def test_absolute_move_is_clamped_and_speed_is_a_fraction(head: PtzHead, clock: Clock) -> None:
    head.absolute_move(Position(5.0, 0.0, 0.0), speed=0.5)
    clock.t += 2.0
    assert head.position().pan == pytest.approx(0.5)
    clock.t += 10.0
    assert head.position().pan == pytest.approx(1.0)
    with pytest.raises(ValueError):
        head.absolute_move(Position(0.0, 0.0, 0.0), speed=0.0)


def test_relative_move_is_from_the_current_position(head: PtzHead, clock: Clock) -> None:
    head.absolute_move(Position(0.2, 0.0, 0.0))
    clock.t += 10
    head.relative_move(Position(-0.3, 0.1, 0.05))
    clock.t += 10
    assert as_tuple(head.position()) == approx(Position(-0.1, 0.1, 0.05))


def test_out_of_range_velocity_is_refused(head: PtzHead) -> None:
    with pytest.raises(ValueError):
        head.continuous_move({"pan": 1.5})
    with pytest.raises(ValueError):
        head.continuous_move({"pan": float("nan")})


def test_presets_remember_positions_and_go_back(head: PtzHead, clock: Clock) -> None:
    head.absolute_move(Position(0.4, -0.2, 0.3))
    clock.t += 10
    token = head.set_preset("Praça")
    head.goto_home()
    clock.t += 10
    assert as_tuple(head.position()) == approx(Position())
    head.goto_preset(token)
    clock.t += 10
    assert as_tuple(head.position()) == approx(Position(0.4, -0.2, 0.3))
    assert [(p.token, p.name) for p in head.presets()] == [(token, "Praça")]
    head.remove_preset(token)
    assert head.presets() == []
    with pytest.raises(UnknownPreset):
        head.goto_preset(token)


def test_set_preset_with_a_token_overwrites_it_and_the_count_is_bounded(clock: Clock) -> None:
    head = PtzHead(clock=clock, max_presets=2)
    first = head.set_preset("a")
    head.set_preset("b")
    with pytest.raises(PresetLimitReached):
        head.set_preset("c")
    head.absolute_move(Position(0.1, 0.1, 0.1))
    clock.t += 10
    assert head.set_preset("a2", first) == first
    assert {p.name for p in head.presets()} == {"a2", "b"}
    with pytest.raises(UnknownPreset):
        head.set_preset("x", "99")


def test_custom_limits_apply_to_the_start_position(clock: Clock) -> None:
    head = PtzHead(clock=clock, limits=Limits(pan=(-0.5, 0.5)), start=Position(0.9, 0, 0))
    assert head.position().pan == 0.5


@pytest.mark.parametrize(("text", "seconds"), [
    ("PT1S", 1.0), ("PT0.5S", 0.5), ("PT1M30S", 90.0), ("PT1H", 3600.0),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "PT", "1S", "PTxS", "P1D"])
def test_bad_durations_are_a_fault(text: str) -> None:
    with pytest.raises(SoapFault):
        parse_duration(text)


def _header(user: str, password: str, nonce: bytes, created: str,
            digest: str | None = None) -> ElementTree.Element:
    digest = digest or password_digest(nonce, created, password)
    return ElementTree.fromstring(  # noqa: S314 (built by the test)
        f'<h xmlns:wsse="{WSSE}" xmlns:wsu="{WSU}"><wsse:Security><wsse:UsernameToken>'
        f"<wsse:Username>{user}</wsse:Username>"
        f'<wsse:Password Type="{DIGEST_TYPE}">{digest}</wsse:Password>'
        f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
        f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></h>")


NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _checker() -> UsernameTokenChecker:
    return UsernameTokenChecker("admin", "s3cret", now=lambda: NOW.timestamp())


def test_a_correct_digest_passes_once_and_a_replay_is_refused() -> None:
    checker = _checker()
    header = _header("admin", "s3cret", b"nonce-1", "2026-05-01T12:00:00Z")
    assert checker.check(header) is None
    assert checker.check(header) == "nonce replayed"


@pytest.mark.parametrize(("user", "password", "created", "reason"), [
    ("admin", "wrong", "2026-05-01T12:00:00Z", "wrong user or password"),
    ("root", "s3cret", "2026-05-01T12:00:00Z", "wrong user or password"),
    ("admin", "s3cret", (NOW - timedelta(minutes=10)).isoformat(), "created too far"),
    ("admin", "s3cret", "yesterday", "nonce or created missing"),
])
def test_bad_tokens_are_refused(user: str, password: str, created: str, reason: str) -> None:
    refused = _checker().check(_header(user, password, b"n", created))
    assert refused is not None and refused.startswith(reason)


def test_a_plain_text_password_or_no_token_is_refused() -> None:
    checker = _checker()
    assert checker.check(None) == "no UsernameToken"
    plain = ElementTree.tostring(_header("admin", "s3cret", b"n", "2026-05-01T12:00:00Z"))
    plain = plain.replace(b"#PasswordDigest", b"#PasswordText")
    assert checker.check(ElementTree.fromstring(plain))  # noqa: S314 == "password is not a digest"


# --- the picture of a PTZ camera -----------------------------------------------------


def test_position_from_motion_matches_the_head(head: PtzHead, clock: Clock) -> None:
    from tools.camera_sim.onvif.ptz import position_from_motion

    head.absolute_move(Position(0.5, -0.25, 0.2), speed=0.5)
    motion = head.motion()
    for dt in (0.0, 0.7, 3.0, 100.0):
        clock.t += dt
        assert position_from_motion(motion, clock.t) == head.position()
    head.continuous_move({"pan": -1.0}, timeout=2.0)
    clock.t += 1.0
    assert position_from_motion(head.motion(), clock.t) == head.position()


def test_every_command_reports_the_new_motion(clock: Clock) -> None:
    seen: list[dict[str, object]] = []
    head = PtzHead(clock=clock, on_change=seen.append)
    head.continuous_move({"pan": 0.5})
    head.stop()
    head.absolute_move(Position(0.1, 0.1, 0.1))
    assert len(seen) == 3
    assert seen[-1] == head.motion()


def test_the_pose_is_burned_into_the_frame_and_read_back_after_jpeg() -> None:
    import io

    from PIL import Image

    from tools.camera_sim.scene import Scene, read_pose, read_timestamp

    scene = Scene("dome", ())
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    frame = Image.frombytes("RGB", (640, 360), scene.frame(when, 0.0, (0.25, -0.5, 0.75)))
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=40)
    pan, tilt, zoom = read_pose(Image.open(buffer)) or (9.0, 9.0, 9.0)
    assert (pan, tilt, zoom) == (pytest.approx(0.25, abs=1e-3), pytest.approx(-0.5, abs=1e-3),
                                 pytest.approx(0.75, abs=1e-3))
    assert read_timestamp(frame) == when
    plain = Image.frombytes("RGB", (640, 360), scene.frame(when, 0.0))
    assert read_pose(plain) is None


def test_the_view_pans_tilts_and_zooms_over_the_panorama() -> None:
    import numpy as np
    from PIL import Image

    from tools.camera_sim.scene import Scene

    scene = Scene("dome", ())
    left, right = scene.view_box((-1, 0, 0)), scene.view_box((1, 0, 0))
    up, down = scene.view_box((0, 1, 0)), scene.view_box((0, -1, 0))
    wide, tele = scene.view_box((0, 0, 0)), scene.view_box((0, 0, 1))
    assert left[0] == 0 and right[2] == 640 * 4
    assert up[1] == 0 and down[3] == 360 * 3
    assert wide[2] - wide[0] == 640 and tele[2] - tele[0] == pytest.approx(160)
    when = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def pixels(pose: tuple[float, float, float]) -> np.ndarray:
        image = Image.frombytes("RGB", (640, 360), scene.frame(when, 0.0, pose))
        return np.asarray(image, dtype=np.int16)[80:300]  # between the overlays

    assert np.abs(pixels((-1, 0, 0)) - pixels((1, 0, 0))).mean() > 10
    assert np.abs(pixels((0, 0, 0)) - pixels((0, 0, 0))).mean() == 0
