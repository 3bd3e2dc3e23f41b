"""The PTZ head of a simulated dome camera, as plain Python.

Positions are in ONVIF's generic spaces: pan and tilt in [-1, 1], zoom in [0, 1].
Each axis moves at a constant velocity from where it was when the last command
arrived, until a time at which it stops (a target reached, a ContinuousMove timeout)
or forever, and is clamped to its limits. Positions are computed from a clock that is
injected, so tests drive time by hand: nothing runs in the background.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

AXES = ("pan", "tilt", "zoom")


@dataclass(frozen=True)
class Position:
    pan: float = 0.0
    tilt: float = 0.0
    zoom: float = 0.0

    def axis(self, name: str) -> float:
        return float(getattr(self, name))


@dataclass(frozen=True)
class Limits:
    pan: tuple[float, float] = (-1.0, 1.0)
    tilt: tuple[float, float] = (-1.0, 1.0)
    zoom: tuple[float, float] = (0.0, 1.0)

    def clamp(self, position: Position) -> Position:
        return Position(*(
            min(max(position.axis(a), getattr(self, a)[0]), getattr(self, a)[1]) for a in AXES
        ))


@dataclass
class _Axis:
    origin: float
    since: float
    velocity: float = 0.0  # units per second
    until: float = math.inf
    target: float | None = None  # where a move to a position ends, exactly

    def at(self, now: float, low: float, high: float) -> float:
        if self.target is not None and now >= self.until:
            return self.target
        elapsed = max(0.0, min(now, self.until) - self.since)
        return min(max(self.origin + self.velocity * elapsed, low), high)

    def moving(self, now: float, low: float, high: float) -> bool:
        if self.velocity == 0.0 or now >= self.until:
            return False
        value = self.at(now, low, high)
        return not ((self.velocity > 0 and value >= high) or (self.velocity < 0 and value <= low))


@dataclass(frozen=True)
class Preset:
    token: str
    name: str
    position: Position


class UnknownPreset(LookupError):
    pass


class PresetLimitReached(RuntimeError):
    pass


@dataclass
class PtzHead:
    """Pan/tilt/zoom with velocities, limits, presets and a home position.

    ``max_speed``: units per second of each axis at velocity 1 (ONVIF velocities and
    speeds are fractions of it). Thread-safe: the SOAP server calls it from its threads.
    """

    clock: Callable[[], float] = time.monotonic
    limits: Limits = field(default_factory=Limits)
    max_speed: Position = Position(pan=0.5, tilt=0.5, zoom=0.5)
    home: Position = Position()
    max_presets: int = 32
    start: Position = Position()
    # Called with ``motion()`` after every move or stop (the simulator hands it to the
    # camera's video publisher, which draws the picture at the head's position).
    on_change: Callable[[dict[str, object]], None] | None = None

    def __post_init__(self) -> None:
        now = self.clock()
        start = self.limits.clamp(self.start)
        self._axes = {a: _Axis(start.axis(a), now) for a in AXES}
        self._presets: dict[str, Preset] = {}
        self._next_token = 1
        self._lock = threading.Lock()

    # --- reading -------------------------------------------------------------------

    def position(self) -> Position:
        now = self.clock()
        with self._lock:
            return self._position(now)

    def moving(self) -> dict[str, bool]:
        """Whether pan/tilt and zoom are moving (ONVIF reports them separately)."""
        now = self.clock()
        with self._lock:
            state = {a: self._axes[a].moving(now, *getattr(self.limits, a)) for a in AXES}
        return {"pan_tilt": state["pan"] or state["tilt"], "zoom": state["zoom"]}

    def _position(self, now: float) -> Position:
        return Position(*(self._axes[a].at(now, *getattr(self.limits, a)) for a in AXES))

    def motion(self) -> dict[str, object]:
        """The head's motion as plain data: each axis's origin, since, velocity, until
        and target on this head's clock, and the limits (see ``position_from_motion``)."""
        with self._lock:
            return {a: {"origin": ax.origin, "since": ax.since, "velocity": ax.velocity,
                        "until": None if math.isinf(ax.until) else ax.until,
                        "target": ax.target, "limits": list(getattr(self.limits, a))}
                    for a, ax in self._axes.items()}

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change(self.motion())

    # --- moving --------------------------------------------------------------------

    def continuous_move(self, velocity: dict[str, float], timeout: float | None = None) -> None:
        """Move the axes in ``velocity`` (each in [-1, 1]) until stopped, a limit, or
        ``timeout`` seconds; axes not named keep what they were doing."""
        for name, value in velocity.items():
            if name not in AXES or not -1.0 <= value <= 1.0 or not math.isfinite(value):
                raise ValueError(f"velocity {name}={value} out of [-1, 1]")
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be positive")
        now = self.clock()
        until = math.inf if timeout is None else now + timeout
        with self._lock:
            current = self._position(now)
            for name, value in velocity.items():
                speed = self.max_speed.axis(name) * value
                self._axes[name] = _Axis(current.axis(name), now, speed, until)
        self._changed()

    def stop(self, *, pan_tilt: bool = True, zoom: bool = True) -> None:
        now = self.clock()
        with self._lock:
            current = self._position(now)
            names = (["pan", "tilt"] if pan_tilt else []) + (["zoom"] if zoom else [])
            for name in names:
                self._axes[name] = _Axis(current.axis(name), now)
        self._changed()

    def absolute_move(self, target: Position, speed: float | None = None) -> None:
        """Go to ``target`` (clamped to the limits) at ``speed`` (a fraction of the
        maximum speed, default full speed)."""
        fraction = 1.0 if speed is None else speed
        if not 0.0 < fraction <= 1.0 or not math.isfinite(fraction):
            raise ValueError("speed must be in (0, 1]")
        for name in AXES:
            if not math.isfinite(target.axis(name)):
                raise ValueError(f"{name} is not a number")
        target = self.limits.clamp(target)
        now = self.clock()
        with self._lock:
            current = self._position(now)
            for name in AXES:
                distance = target.axis(name) - current.axis(name)
                rate = self.max_speed.axis(name) * fraction
                if distance == 0.0:
                    self._axes[name] = _Axis(current.axis(name), now)
                else:
                    self._axes[name] = _Axis(current.axis(name), now,
                                             math.copysign(rate, distance),
                                             now + abs(distance) / rate, target.axis(name))
        self._changed()

    def relative_move(self, delta: Position, speed: float | None = None) -> None:
        here = self.position()
        self.absolute_move(Position(*(here.axis(a) + delta.axis(a) for a in AXES)), speed)

    def goto_home(self, speed: float | None = None) -> None:
        self.absolute_move(self.home, speed)

    def set_home(self) -> None:
        self.home = self.position()

    # --- presets -------------------------------------------------------------------

    def presets(self) -> list[Preset]:
        with self._lock:
            return list(self._presets.values())

    def set_preset(self, name: str, token: str | None = None) -> str:
        """Remember the current position as ``name``; with ``token``, overwrite that
        preset. Returns the preset's token."""
        here = self.position()
        with self._lock:
            if token is not None:
                if token not in self._presets:
                    raise UnknownPreset(token)
            else:
                if len(self._presets) >= self.max_presets:
                    raise PresetLimitReached(str(self.max_presets))
                token = str(self._next_token)
                self._next_token += 1
            self._presets[token] = Preset(token, name or f"Preset {token}", here)
            return token

    def goto_preset(self, token: str, speed: float | None = None) -> None:
        with self._lock:
            preset = self._presets.get(token)
        if preset is None:
            raise UnknownPreset(token)
        self.absolute_move(preset.position, speed)

    def remove_preset(self, token: str) -> None:
        with self._lock:
            if self._presets.pop(token, None) is None:
                raise UnknownPreset(token)


def position_from_motion(motion: dict[str, object], now: float) -> Position:
    """Where a head whose ``motion()`` this is points at ``now`` (same clock)."""
    values = []
    for name in AXES:
        axis = motion[name]
        assert isinstance(axis, dict)
        until = axis["until"]
        low, high = axis["limits"]
        values.append(_Axis(float(axis["origin"]), float(axis["since"]),
                            float(axis["velocity"]),
                            math.inf if until is None else float(until),
                            None if axis["target"] is None else float(axis["target"]),
                            ).at(now, float(low), float(high)))
    return Position(*values)
