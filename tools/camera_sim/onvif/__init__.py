"""The simulated camera's ONVIF side: a PTZ head (``ptz.py``, pure Python), the SOAP
services a real camera serves over HTTP (``server.py``: Device, Media, PTZ with
WS-Security UsernameToken digest, ``wsse.py``) and a WS-Discovery responder on loopback
(``discovery.py``). See docs/camera_simulator.md."""
