"""Drive a simulated ONVIF camera with ``onvif-zeep-async`` (the WSDL-based client Home
Assistant uses), to check that the simulator speaks ONVIF the way that client expects:
WS-Security digest with clock adjustment, device, media and every PTZ operation.

Not part of the test suite (the library is not a dependency). Run it in a separate venv:

    python3 -m venv /tmp/zeep && /tmp/zeep/bin/pip install onvif-zeep-async==4.3.0
    PYTHONPATH=. /tmp/zeep/bin/python -m tools.camera_sim.onvif.interop_check

It exits non-zero on the first mismatch. Last run (onvif-zeep-async 4.3.0, zeep 4.3.3):
every check passed, against a camera whose clock was 120 s ahead.
"""

from __future__ import annotations

import asyncio
import sys

from onvif import ONVIFCamera  # type: ignore[import-not-found]

from tools.camera_sim.onvif.ptz import Position, PtzHead
from tools.camera_sim.onvif.server import OnvifCamera

PASSWORD = "interop-check"  # noqa: S105 (a throwaway simulated camera's)


async def check() -> None:
    head = PtzHead(max_speed=Position(100, 100, 100))  # moves arrive at once
    with OnvifCamera("interop", stream_uri="rtsp://127.0.0.1:8554/interop", user="admin",
                     password=PASSWORD, head=head, clock_offset=120) as sim:
        camera = ONVIFCamera("127.0.0.1", sim.port, "admin", PASSWORD, adjust_time=True)
        try:
            await camera.update_xaddrs()
            device = await camera.create_devicemgmt_service()
            info = await device.GetDeviceInformation()
            assert info.Manufacturer == "GT-Vision Simulator", info
            media = await camera.create_media_service()
            profiles = await media.GetProfiles()
            assert [p.token for p in profiles] == ["main", "sub"], profiles
            uri = await media.GetStreamUri({"StreamSetup": {
                "Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                "ProfileToken": "main"})
            assert uri.Uri == "rtsp://127.0.0.1:8554/interop", uri
            ptz = await camera.create_ptz_service()
            main = {"ProfileToken": "main"}
            await ptz.AbsoluteMove({**main, "Position": {"PanTilt": {"x": 0.3, "y": -0.2},
                                                          "Zoom": {"x": 0.4}}})
            await asyncio.sleep(0.1)
            status = await ptz.GetStatus(main)
            got = (status.Position.PanTilt.x, status.Position.PanTilt.y,
                   status.Position.Zoom.x)
            assert got == (0.3, -0.2, 0.4), got
            await ptz.ContinuousMove({**main, "Velocity": {"PanTilt": {"x": 0.001, "y": 0}},
                                      "Timeout": "PT1S"})
            await ptz.Stop({**main, "PanTilt": True, "Zoom": True})
            token = await ptz.SetPreset({**main, "PresetName": "Praça"})
            presets = await ptz.GetPresets(main)
            assert [(p.token, p.Name) for p in presets] == [(token, "Praça")], presets
            await ptz.GotoPreset({**main, "PresetToken": token})
            await ptz.RemovePreset({**main, "PresetToken": token})
            await ptz.GotoHomePosition(main)
            await ptz.RelativeMove({**main, "Translation": {"PanTilt": {"x": 0.1, "y": 0.1}}})
        finally:
            await camera.close()
        wrong = ONVIFCamera("127.0.0.1", sim.port, "admin", "not-the-password")
        try:
            await wrong.update_xaddrs()
            device = await wrong.create_devicemgmt_service()
            try:
                await device.GetDeviceInformation()
            except Exception as exc:  # zeep's Fault
                assert "not Authorized" in str(exc), exc
            else:
                raise AssertionError("a wrong password was accepted")
        finally:
            await wrong.close()
    print("onvif-zeep-async interop: all checks passed")


if __name__ == "__main__":
    asyncio.run(check())
    sys.exit(0)
