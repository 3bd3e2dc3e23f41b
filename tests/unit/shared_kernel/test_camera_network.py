"""The camera network policy: which addresses a camera URL may point at, host names
checked on every address they resolve to, and the URL pinned to the checked address."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence

import pytest
from pydantic import ValidationError

from shared_kernel import camera_network
from shared_kernel.camera_network import (
    AddressNotAllowed,
    AddressUnresolvable,
    CameraNetworkPolicy,
    with_host,
)
from shared_kernel.settings import CommonSettings

DEFAULT = CameraNetworkPolicy()


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "::1", "169.254.169.254", "fe80::1", "0.0.0.0", "::",
    "224.0.0.1", "ff02::1", "255.255.255.255", "240.0.0.1", "::ffff:127.0.0.1",
    "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::1", "fd00:ec2::254",
    "100.100.100.200", "10.0.0.5", "172.17.0.2", "192.168.1.10", "100.64.0.1", "fd12::1",
])
def test_local_private_and_special_addresses_are_refused_by_default(address: str) -> None:
    assert not DEFAULT.decide(address).allowed
    with pytest.raises(AddressNotAllowed):
        DEFAULT.check_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "200.160.2.3", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed_while_no_camera_network_is_listed(address: str) -> None:
    assert DEFAULT.decide(address).allowed


def test_listing_camera_networks_makes_them_the_complete_list() -> None:
    policy = CameraNetworkPolicy.from_strings(allowed=["10.20.0.0/16"])
    assert policy.decide("10.20.3.4").allowed
    assert not policy.decide("10.21.0.1").allowed  # still private, not listed
    assert not policy.decide("8.8.8.8").allowed  # public, not listed
    assert policy.decide("8.8.8.8").rule == "not in an allowed network"


def test_a_built_in_denial_yields_only_to_an_allowed_network_as_specific() -> None:
    loopback = CameraNetworkPolicy.from_strings(allowed=["127.0.0.0/8"])
    assert loopback.decide("127.0.0.1").allowed
    everything = CameraNetworkPolicy.from_strings(allowed=["0.0.0.0/0", "::/0"])
    for address in ("127.0.0.1", "169.254.169.254", "10.0.0.5", "::1", "::ffff:127.0.0.1"):
        assert not everything.decide(address).allowed, address
    assert everything.decide("8.8.8.8").allowed
    # The metadata address stays refused inside an allowed CGNAT range.
    cgnat = CameraNetworkPolicy.from_strings(allowed=["100.64.0.0/10"])
    assert cgnat.decide("100.64.0.1").allowed
    assert not cgnat.decide("100.100.100.200").allowed


def test_platform_networks_beat_allowed_networks_unless_a_camera_subnet_is_named() -> None:
    policy = CameraNetworkPolicy.from_strings(
        allowed=["172.16.0.0/12", "172.20.5.0/24", "10.0.0.0/8"],
        denied=["172.16.0.0/12", "10.99.0.0/16"])
    assert not policy.decide("172.18.0.3").allowed  # tie: the operator's denial wins
    assert policy.decide("172.20.5.9").allowed  # more specific allowed subnet
    assert not policy.decide("10.99.1.1").allowed
    assert policy.decide("10.1.1.1").allowed


def test_url_with_a_literal_address_is_pinned_to_it_keeping_everything_else() -> None:
    policy = CameraNetworkPolicy.from_strings(allowed=["10.0.0.0/8"])
    url = "rtsp://adm:p%40ss@10.0.0.5:554/user=admin&password=x&channel=1?"
    vetted = policy.vet_url(url)
    assert vetted.url == url and str(vetted.address) == "10.0.0.5"
    assert "p%40ss" not in repr(vetted)


@pytest.mark.parametrize("url", [
    "rtsp://127.0.0.1/x", "rtsp://[::1]:8554/x", "rtsp://[::ffff:7f00:1]/x",
    "rtsp://2130706433/x", "rtsp://0x7f.1/x", "rtsp://127.1/x", "rtsp://localhost/x",
    "rtsp://169.254.169.254/latest", "RTSP://LOCALHOST:554/x",
])
def test_loopback_and_metadata_in_any_spelling_are_refused(url: str) -> None:
    with pytest.raises(AddressNotAllowed):
        DEFAULT.vet_url(url)


@pytest.mark.parametrize("url", ["http://8.8.8.8/x", "file:///etc/passwd", "tcp://8.8.8.8:1",
                                 "rtsp:///nohost", "rtsp://[zz/x"])
def test_only_rtsp_urls_with_a_host_pass(url: str) -> None:
    with pytest.raises(AddressNotAllowed):
        DEFAULT.vet_url(url)


def _resolver(answers: dict[str, Sequence[str]]) -> camera_network.SyncResolver:
    def resolve(host: str, port: int, timeout: float) -> Sequence[str]:
        return answers[host]

    return resolve


def test_every_address_of_a_name_is_checked() -> None:
    policy = CameraNetworkPolicy.from_strings(allowed=["10.0.0.0/8"])
    mixed = _resolver({"cam.city": ["10.0.0.5", "127.0.0.1"]})
    with pytest.raises(AddressNotAllowed) as refused:
        policy.vet_url("rtsp://cam.city/x", resolve=mixed)
    assert refused.value.address == "127.0.0.1"
    good = _resolver({"cam.city": ["10.0.0.5", "10.0.0.6"]})
    vetted = policy.vet_url("rtsp://u:p@cam.city:8554/live?", resolve=good)
    assert vetted.url == "rtsp://u:p@10.0.0.5:8554/live?"
    assert [str(a) for a in vetted.addresses] == ["10.0.0.5", "10.0.0.6"]


def test_a_name_pinned_to_ipv6_gets_brackets() -> None:
    policy = CameraNetworkPolicy.from_strings(allowed=["2001:db8:1::/48"])
    vetted = policy.vet_url("rtsp://u:p@cam.city/live",
                            resolve=_resolver({"cam.city": ["2001:db8:1::5"]}))
    assert vetted.url == "rtsp://u:p@[2001:db8:1::5]/live"


def test_a_name_that_resolves_to_nothing_is_unresolvable() -> None:
    with pytest.raises(AddressUnresolvable):
        DEFAULT.vet_url("rtsp://cam.city/x", resolve=_resolver({"cam.city": []}))
    with pytest.raises(AddressUnresolvable):
        DEFAULT.vet_url("rtsp://no-such-camera.invalid/x")


def test_a_slow_resolver_is_cut_off_at_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*_args: object, **_kwargs: object) -> list[object]:
        time.sleep(2)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    policy = CameraNetworkPolicy(dns_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(AddressUnresolvable, match="within"):
        policy.vet_url("rtsp://slow.city/x")
    assert time.monotonic() - started < 1.5


async def test_the_asynchronous_check_is_the_same_rule() -> None:
    policy = CameraNetworkPolicy.from_strings(allowed=["127.0.0.0/8"])
    vetted = await policy.avet_url("rtsp://u:p@localhost:8554/cam")
    assert vetted.url == "rtsp://u:p@127.0.0.1:8554/cam"

    async def rebinding(host: str, port: int, timeout: float) -> list[str]:
        return ["169.254.169.254"]

    with pytest.raises(AddressNotAllowed):
        await policy.avet_url("rtsp://cam.city/x", resolve=rebinding)



async def test_the_asynchronous_lookup_is_cut_off_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    async def hanging(*_args: object, **_kwargs: object) -> list[object]:
        await asyncio.sleep(10)
        return []

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", hanging)
    started = time.monotonic()
    with pytest.raises(AddressUnresolvable, match="within"):
        await CameraNetworkPolicy(dns_timeout=0.2).avet_url("rtsp://slow.city/x")
    assert time.monotonic() - started < 1.5


def test_with_host_replaces_only_the_host() -> None:
    from ipaddress import ip_address

    assert with_host("rtsp://a:b@c@h:1/p?q#f", ip_address("10.0.0.1")) == \
        "rtsp://a:b@c@10.0.0.1:1/p?q#f"
    assert with_host("rtsps://[fd00::1]:322/x", ip_address("10.0.0.1")) == \
        "rtsps://10.0.0.1:322/x"
    assert with_host("rtsp://h", ip_address("::1")) == "rtsp://[::1]"


def test_settings_take_comma_separated_or_json_networks(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GTV_CAMERA_ALLOWED_NETWORKS", "127.0.0.0/8, ::1, 10.20.1.2/16")
    monkeypatch.setenv("GTV_CAMERA_DENIED_NETWORKS", '["172.16.0.0/12"]')
    settings = CommonSettings()
    assert settings.camera_allowed_networks == ["127.0.0.0/8", "::1/128", "10.20.0.0/16"]
    policy = settings.camera_network_policy()
    assert policy.decide("127.0.0.1").allowed and not policy.decide("172.18.0.2").allowed
    monkeypatch.setenv("GTV_CAMERA_ALLOWED_NETWORKS", "not-a-network")
    with pytest.raises(ValidationError, match="not an IP address or CIDR network"):
        CommonSettings()


def test_unset_settings_give_the_built_in_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GTV_CAMERA_ALLOWED_NETWORKS", raising=False)
    monkeypatch.delenv("GTV_CAMERA_DENIED_NETWORKS", raising=False)
    policy = CommonSettings(_env_file=None).camera_network_policy()  # type: ignore[call-arg]
    assert policy.allowed == () and policy.denied == ()
    assert not policy.decide("127.0.0.1").allowed
