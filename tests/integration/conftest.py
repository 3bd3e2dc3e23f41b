"""Fixtures shared by the integration tests: real simulated RTSP cameras.

* ``camera_sim`` (session): one simulator with credentials and two cameras —
  ``cam1`` (vehicles ``ABC1D23``, ``BRA2E19``) and ``cam2`` (``XYZ9876``), 640x360 @ 10 fps,
  a keyframe every second. Shared: never pause or freeze it.
* ``camera_urls`` (session): ``{"cam1": "rtsp://viewer:...@127.0.0.1:PORT/cam1", ...}``.
* ``private_camera`` (per test): a simulator of its own with one camera ``solo``, for
  tests that pause, freeze or stop a camera.

The simulator listens on loopback, which the camera network policy refuses unless it is
allowed explicitly: every test that connects to it says so with ``SIMULATOR_NETWORKS``
(settings) or ``SIMULATOR_POLICY`` (adapters built by hand), as the demo does.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared_kernel.camera_network import CameraNetworkPolicy
from tools.camera_sim.simulator import CameraSimulator, CameraSpec

CAMERA_USER = "viewer"
CAMERA_PASSWORD = "s3cr3t-Pa55"
SIM_FPS = 10
SIM_SIZE = (640, 360)
# Where the simulator runs: allowed explicitly (loopback is refused by default).
SIMULATOR_NETWORKS = ("127.0.0.0/8", "::1/128")
SIMULATOR_POLICY = CameraNetworkPolicy.from_strings(allowed=SIMULATOR_NETWORKS)


@pytest.fixture(scope="session")
def camera_sim() -> Iterator[CameraSimulator]:
    cameras = [CameraSpec("cam1", ("ABC1D23", "BRA2E19")), CameraSpec("cam2", ("XYZ9876",))]
    with CameraSimulator(cameras, user=CAMERA_USER, password=CAMERA_PASSWORD, fps=SIM_FPS,
                         size=SIM_SIZE) as sim:
        yield sim


@pytest.fixture(scope="session")
def camera_urls(camera_sim: CameraSimulator) -> dict[str, str]:
    return camera_sim.urls


@pytest.fixture
def private_camera() -> Iterator[CameraSimulator]:
    with CameraSimulator([CameraSpec("solo", ("QRS4T56", "JKL1234"))], user=CAMERA_USER,
                         password=CAMERA_PASSWORD, fps=SIM_FPS, size=SIM_SIZE) as sim:
        yield sim
