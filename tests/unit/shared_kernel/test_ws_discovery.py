"""The WS-Discovery client's pure parts: discovery targets and ProbeMatches parsing
(shared_kernel.ws_discovery). Probing over UDP is tested against the simulator's
responder in tests/integration."""

from __future__ import annotations

import pytest

from shared_kernel.ws_discovery import (
    MAX_FIELD,
    MAX_LIST,
    InvalidTarget,
    Target,
    parse_matches,
    probe_message,
)

PROBE_ID = "uuid:7d1c3f0e-0000-4000-8000-000000000001"


def _matches(relates_to: str = PROBE_ID, *, endpoint: str = "urn:uuid:abc",
             xaddrs: str = "http://10.0.0.7/onvif/device_service",
             scopes: str = "onvif://www.onvif.org/name/Dome%20Pra%C3%A7a") -> bytes:
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"'
        ' xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing"'
        ' xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery"><s:Header>'
        f"<a:RelatesTo>{relates_to}</a:RelatesTo></s:Header><s:Body><d:ProbeMatches>"
        f"<d:ProbeMatch><a:EndpointReference><a:Address>{endpoint}</a:Address>"
        "</a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
        f"<d:Scopes>{scopes}</d:Scopes><d:XAddrs>{xaddrs}</d:XAddrs></d:ProbeMatch>"
        "</d:ProbeMatches></s:Body></s:Envelope>").encode()


@pytest.mark.parametrize(("text", "hosts", "port"), [
    ("10.0.0.7", ["10.0.0.7"], 3702),
    ("127.0.0.1:40001", ["127.0.0.1"], 40001),
    ("10.1.2.0/30", ["10.1.2.1", "10.1.2.2"], 3702),
    (" 192.168.5.0/29:3703 ", [f"192.168.5.{i}" for i in range(1, 7)], 3703),
])
def test_targets_are_hosts_or_small_subnets_with_an_optional_port(
        text: str, hosts: list[str], port: int) -> None:
    target = Target.parse(text)
    assert [str(h) for h in target.hosts()] == hosts
    assert target.port == port and target.text == text.strip()


@pytest.mark.parametrize("text", ["", "camera.local", "10.0.0.0/8", "10.0.0.1:0",
                                  "10.0.0.1:70000", "10.0.0.1:x", "::1", "[::1]:3702"])
def test_anything_else_is_not_a_target(text: str) -> None:
    with pytest.raises(InvalidTarget):
        Target.parse(text)


def test_a_probe_asks_for_network_video_transmitters_under_its_message_id() -> None:
    message = probe_message(PROBE_ID).decode()
    assert f"<w:MessageID>{PROBE_ID}</w:MessageID>" in message
    assert "<d:Types>dn:NetworkVideoTransmitter</d:Types>" in message


def test_a_match_answering_the_probe_is_read_with_its_sender() -> None:
    [match] = parse_matches(_matches(), [PROBE_ID], "10.0.0.7")
    assert match.endpoint == "urn:uuid:abc"
    assert match.xaddrs == ("http://10.0.0.7/onvif/device_service",)
    assert match.scopes == ("onvif://www.onvif.org/name/Dome%20Pra%C3%A7a",)
    assert match.types == ("dn:NetworkVideoTransmitter",)
    assert match.sender == "10.0.0.7"


@pytest.mark.parametrize("data", [
    _matches("uuid:another-probe"),
    _matches(endpoint=""),
    b"not xml",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    _matches().replace(b"<s:Header>", b"<s:Header><!DOCTYPE"),
    b"<a/>",
])
def test_anything_but_a_match_of_this_probe_is_ignored(data: bytes) -> None:
    assert parse_matches(data, [PROBE_ID], "10.0.0.7") == []


def test_announced_lists_and_values_are_bounded() -> None:
    many = " ".join(f"http://10.0.0.{i}/onvif/device_service" for i in range(1, 60))
    [match] = parse_matches(_matches(xaddrs=many, scopes="x" * 5000), [PROBE_ID], "10.0.0.7")
    assert len(match.xaddrs) == MAX_LIST
    assert [len(s) for s in match.scopes] == [MAX_FIELD]

