"""PTZ command values: ranges of ONVIF's generic spaces, checked before any camera call."""

from __future__ import annotations

import uuid

import pytest

from shared_kernel.auth import Role, TokenClaims
from streaming_service.application.ptz import rank_of
from streaming_service.domain.errors import InvalidPtzCommand
from streaming_service.domain.ptz import PtzTarget, PtzVector, check_speed


@pytest.mark.parametrize("values", [{"pan": 1.01}, {"tilt": -1.5}, {"zoom": float("nan")},
                                    {"pan": float("inf")}])
def test_velocities_outside_minus_one_to_one_are_refused(values: dict[str, float]) -> None:
    with pytest.raises(InvalidPtzCommand):
        PtzVector(**values)


def test_a_still_vector_is_recognised() -> None:
    assert PtzVector().is_still
    assert not PtzVector(zoom=-0.1).is_still


def test_targets_need_one_axis_and_zoom_is_zero_to_one() -> None:
    assert PtzTarget(pan=-1.0).tilt is None
    with pytest.raises(InvalidPtzCommand):
        PtzTarget()
    with pytest.raises(InvalidPtzCommand):
        PtzTarget(zoom=-0.1)


@pytest.mark.parametrize("speed", [0.0, -0.5, 1.5, float("nan")])
def test_speeds_are_above_zero_and_at_most_one(speed: float) -> None:
    with pytest.raises(InvalidPtzCommand):
        check_speed(speed)
    assert check_speed(None) is None
    assert check_speed(1.0) == 1.0


@pytest.mark.parametrize(("roles", "rank"), [
    ((Role.VIEWER,), 1), ((Role.OPERATOR,), 2), ((Role.VIEWER, Role.TENANT_ADMIN), 3),
    ((Role.SUPERADMIN,), 4),
])
def test_rank_is_the_highest_role(roles: tuple[Role, ...], rank: int) -> None:
    claims = TokenClaims(user_id=uuid.uuid4(), roles=roles, jti="j", exp=0)
    assert rank_of(claims) == rank


def test_an_onvif_endpoint_is_read_from_its_json_or_refused() -> None:
    from streaming_service.domain.ptz import OnvifEndpoint

    endpoint = OnvifEndpoint.from_json(
        '{"url": "http://10.0.0.5/onvif/device_service", "username": "u", "password": "p"}')
    assert (endpoint.url, endpoint.profile) == ("http://10.0.0.5/onvif/device_service", "")
    for bad in ("[]", '{"url": "x"}', "not json", "null"):
        with pytest.raises(ValueError):
            OnvifEndpoint.from_json(bad)
