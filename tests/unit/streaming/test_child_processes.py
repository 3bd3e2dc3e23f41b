"""What a subprocess of the streaming API inherits (infrastructure.child_processes)."""

from __future__ import annotations

import asyncio
import os
import socket

import uvloop

from streaming_service.infrastructure.child_processes import keep_descriptors_from_children


def _descriptors_of_a_child() -> set[int]:
    """The descriptors a subprocess started on uvloop holds, as uvicorn's workers start
    ffmpeg."""

    async def spawn() -> set[int]:
        child = await asyncio.create_subprocess_exec(
            "sleep", "5", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        try:
            await asyncio.sleep(0.2)  # past the exec
            return {int(fd) for fd in os.listdir(f"/proc/{child.pid}/fd")}
        finally:
            child.kill()
            await child.wait()

    return uvloop.run(spawn())


def test_an_inherited_listening_socket_does_not_reach_the_children() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listening:
        listening.set_inheritable(True)  # as uvicorn's supervisor hands it to a worker
        assert listening.fileno() in _descriptors_of_a_child(), "the leak this guards"
        assert keep_descriptors_from_children() >= 1
        assert not listening.get_inheritable()
        assert listening.fileno() not in _descriptors_of_a_child()
        assert keep_descriptors_from_children() == 0
