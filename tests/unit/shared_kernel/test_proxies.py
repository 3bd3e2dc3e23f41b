"""shared_kernel.proxies: the one trusted-proxy rule both services apply (GTV_TRUSTED_PROXIES)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared_kernel.proxies import TrustedProxies, parse_networks
from shared_kernel.settings import CommonSettings
from streaming_service.settings import StreamingSettings

PROXIES = TrustedProxies.from_strings(["10.0.0.0/8", "fd00::/8"])


def test_untrusted_peer_is_the_client_whatever_it_forwards() -> None:
    assert PROXIES.client_ip("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() -> None:
    # The client forged "1.2.3.4"; HAProxy appended what it saw, Kong appended HAProxy.
    forwarded = "1.2.3.4, 203.0.113.9, 10.0.0.7"
    assert PROXIES.client_ip("10.0.0.8", forwarded) == "203.0.113.9"


def test_ipv6_proxies_and_mapped_ipv4_peers_are_recognised() -> None:
    assert PROXIES.client_ip("fd00::2", "203.0.113.9, 10.0.0.7") == "203.0.113.9"
    assert PROXIES.client_ip("::ffff:10.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert PROXIES.client_ip("10.0.0.1", "[2001:db8::5]:4711") == "2001:db8::5"


def test_garbage_in_the_chain_stops_the_walk_at_the_last_trusted_hop() -> None:
    assert PROXIES.client_ip("10.0.0.1", "203.0.113.9, not-an-ip") == "10.0.0.1"


def test_only_proxies_in_the_chain_means_the_peer_is_the_client() -> None:
    assert PROXIES.client_ip("10.0.0.1", "10.0.0.7") == "10.0.0.1"
    assert PROXIES.client_ip("10.0.0.1", None) == "10.0.0.1"


def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    assert TrustedProxies().client_ip("10.0.0.1", "203.0.113.9") == "10.0.0.1"


def test_a_peer_that_is_no_address_gives_none() -> None:
    assert PROXIES.client_ip(None, "203.0.113.9") is None
    assert PROXIES.client_ip("testclient", "203.0.113.9") is None


def test_a_typo_in_the_list_is_an_error_not_an_empty_trust() -> None:
    with pytest.raises(ValueError, match="haproxy"):
        parse_networks(["10.0.0.0/8", "haproxy"])


@pytest.mark.parametrize("settings_class", [CommonSettings, StreamingSettings])
def test_every_service_reads_the_same_env_var(
    monkeypatch: pytest.MonkeyPatch, settings_class: type[CommonSettings]
) -> None:
    monkeypatch.setenv("GTV_TRUSTED_PROXIES", "172.28.0.10, 172.28.0.11")
    assert settings_class().trusted_proxies == ["172.28.0.10/32", "172.28.0.11/32"]
    monkeypatch.setenv("GTV_TRUSTED_PROXIES", '["172.16.0.0/12"]')
    assert settings_class().trusted_proxies == ["172.16.0.0/12"]
    monkeypatch.setenv("GTV_TRUSTED_PROXIES", "kong")
    with pytest.raises(ValidationError, match="kong"):
        settings_class()
