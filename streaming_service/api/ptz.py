"""Steering a camera: pan/tilt/zoom moves, presets, home, and the control lock
(operators and above; every command audited; see application/ptz.py)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Path, Request
from pydantic import BaseModel, Field

from streaming_service.api.deps import (
    OperatorDep,
    ServicesDep,
    actor_of,
    tenant_scope,
)
from streaming_service.api.routing import PrefixRouter
from streaming_service.api.validation import RequestModel
from streaming_service.domain.ptz import LockHolder, PtzTarget, PtzVector

router = PrefixRouter(prefix="/api/streaming/cameras/{camera_id}/ptz", tags=["ptz"])

PresetToken = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Axis = Annotated[float, Field(ge=-1.0, le=1.0)]
Speed = Annotated[float | None, Field(default=None, gt=0.0, le=1.0)]


class MoveIn(RequestModel):
    pan: Axis = 0.0
    tilt: Axis = 0.0
    zoom: Axis = 0.0
    timeout_seconds: float | None = Field(
        default=None, gt=0, description="Stop after this many seconds (at most the "
        "service's GTV_PTZ_MAX_MOVE_SECONDS, its default); send again to keep moving.")


class RelativeIn(RequestModel):
    pan: Axis = 0.0
    tilt: Axis = 0.0
    zoom: Axis = 0.0
    speed: Speed = None


class AbsoluteIn(RequestModel):
    pan: Annotated[float | None, Field(default=None, ge=-1.0, le=1.0)] = None
    tilt: Annotated[float | None, Field(default=None, ge=-1.0, le=1.0)] = None
    zoom: Annotated[float | None, Field(default=None, ge=0.0, le=1.0)] = None
    speed: Speed = None


class SpeedIn(RequestModel):
    speed: Speed = None


class PresetIn(RequestModel):
    name: str = Field(min_length=1, max_length=64)


class LockIn(RequestModel):
    takeover: bool = False


class MoveOut(BaseModel):
    stops_in_seconds: float


class StatusOut(BaseModel):
    pan: float | None
    tilt: float | None
    zoom: float | None
    moving: bool


class PresetOut(BaseModel):
    token: str
    name: str


class LockOut(BaseModel):
    held: bool
    user_id: uuid.UUID | None = None
    username: str | None = None
    expires_in: float | None = None
    mine: bool = False


def lock_out(holder: LockHolder | None, me: uuid.UUID) -> LockOut:
    if holder is None:
        return LockOut(held=False)
    return LockOut(held=True, user_id=holder.user_id, username=holder.username,
                   expires_in=round(holder.expires_in, 1), mine=holder.user_id == me)


@router.get("/status", response_model=StatusOut, summary="Where the camera points")
async def ptz_status(camera_id: uuid.UUID, claims: OperatorDep,
                     services: ServicesDep) -> StatusOut:
    position = await services.ptz.status(camera_id, tenant_scope(claims))
    return StatusOut(pan=position.pan, tilt=position.tilt, zoom=position.zoom,
                     moving=position.moving)


@router.post("/move", response_model=MoveOut,
             summary="Continuous move at the given velocities, stopped by the server at "
                     "its deadline")
async def ptz_move(camera_id: uuid.UUID, body: MoveIn, claims: OperatorDep,
                   services: ServicesDep, request: Request) -> MoveOut:
    seconds = await services.ptz.move(
        camera_id, tenant_scope(claims), claims, actor_of(claims, request),
        PtzVector(body.pan, body.tilt, body.zoom), seconds=body.timeout_seconds)
    return MoveOut(stops_in_seconds=seconds)


@router.post("/stop", status_code=204, summary="Stop every axis")
async def ptz_stop(camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep,
                   request: Request) -> None:
    await services.ptz.stop(camera_id, tenant_scope(claims), claims, actor_of(claims, request))


@router.post("/relative", status_code=204, summary="Move by a translation")
async def ptz_relative(camera_id: uuid.UUID, body: RelativeIn, claims: OperatorDep,
                       services: ServicesDep, request: Request) -> None:
    await services.ptz.relative_move(
        camera_id, tenant_scope(claims), claims, actor_of(claims, request),
        PtzVector(body.pan, body.tilt, body.zoom), body.speed)


@router.post("/absolute", status_code=204, summary="Move to a position")
async def ptz_absolute(camera_id: uuid.UUID, body: AbsoluteIn, claims: OperatorDep,
                       services: ServicesDep, request: Request) -> None:
    await services.ptz.absolute_move(
        camera_id, tenant_scope(claims), claims, actor_of(claims, request),
        PtzTarget(body.pan, body.tilt, body.zoom), body.speed)


@router.post("/home", status_code=204, summary="Go to the home position")
async def ptz_home(camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep,
                   request: Request, body: SpeedIn | None = None) -> None:
    await services.ptz.home(camera_id, tenant_scope(claims), claims,
                            actor_of(claims, request), body.speed if body else None)


@router.get("/presets", response_model=list[PresetOut], summary="The camera's presets")
async def ptz_presets(camera_id: uuid.UUID, claims: OperatorDep,
                      services: ServicesDep) -> list[PresetOut]:
    return [PresetOut(token=p.token, name=p.name)
            for p in await services.ptz.presets(camera_id, tenant_scope(claims))]


@router.post("/presets", response_model=PresetOut, status_code=201,
             summary="Remember the current position as a preset")
async def ptz_set_preset(camera_id: uuid.UUID, body: PresetIn, claims: OperatorDep,
                         services: ServicesDep, request: Request) -> PresetOut:
    preset = await services.ptz.set_preset(camera_id, tenant_scope(claims), claims,
                                           actor_of(claims, request), body.name)
    return PresetOut(token=preset.token, name=preset.name)


@router.put("/presets/{token}", response_model=PresetOut,
            summary="Overwrite a preset with the current position")
async def ptz_replace_preset(camera_id: uuid.UUID, token: PresetToken, body: PresetIn,
                             claims: OperatorDep, services: ServicesDep,
                             request: Request) -> PresetOut:
    preset = await services.ptz.set_preset(camera_id, tenant_scope(claims), claims,
                                           actor_of(claims, request), body.name, token)
    return PresetOut(token=preset.token, name=preset.name)


@router.post("/presets/{token}/goto", status_code=204, summary="Go to a preset")
async def ptz_goto_preset(camera_id: uuid.UUID, token: PresetToken, claims: OperatorDep,
                          services: ServicesDep, request: Request,
                          body: SpeedIn | None = None) -> None:
    await services.ptz.goto_preset(camera_id, tenant_scope(claims), claims,
                                   actor_of(claims, request), token,
                                   body.speed if body else None)


@router.delete("/presets/{token}", status_code=204, summary="Remove a preset")
async def ptz_remove_preset(camera_id: uuid.UUID, token: PresetToken, claims: OperatorDep,
                            services: ServicesDep, request: Request) -> None:
    await services.ptz.remove_preset(camera_id, tenant_scope(claims), claims,
                                     actor_of(claims, request), token)


@router.get("/lock", response_model=LockOut, summary="Who steers this camera")
async def ptz_lock(camera_id: uuid.UUID, claims: OperatorDep,
                   services: ServicesDep) -> LockOut:
    holder = await services.ptz.lock_holder(camera_id, tenant_scope(claims))
    return lock_out(holder, claims.user_id)


@router.post("/lock", response_model=LockOut,
             summary="Take the control lock (takeover: from a user of a lower role)")
async def ptz_take_lock(camera_id: uuid.UUID, claims: OperatorDep, services: ServicesDep,
                        request: Request, body: LockIn | None = None) -> LockOut:
    holder = await services.ptz.take_lock(camera_id, tenant_scope(claims), claims,
                                          actor_of(claims, request),
                                          takeover=body.takeover if body else False)
    return lock_out(holder, claims.user_id)


@router.delete("/lock", status_code=204, summary="Give the control lock back")
async def ptz_release_lock(camera_id: uuid.UUID, claims: OperatorDep,
                           services: ServicesDep) -> None:
    await services.ptz.release_lock(camera_id, tenant_scope(claims), claims)
