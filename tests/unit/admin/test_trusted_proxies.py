"""GTV_TRUSTED_PROXIES: one list of proxy addresses/CIDRs, parsed and checked at start-up."""

from __future__ import annotations

import pytest
from config.proxies import client_ip
from config.settings import AdminSettings
from django.test import RequestFactory, override_settings
from pydantic import ValidationError


def test_trusted_proxies_come_from_the_environment_comma_separated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GTV_TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.5 ,fd00::/8")
    assert AdminSettings().trusted_proxies == ["10.0.0.0/8", "192.168.1.5/32", "fd00::/8"]


def test_trusted_proxies_accept_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTV_TRUSTED_PROXIES", '["172.16.0.0/12"]')
    assert AdminSettings().trusted_proxies == ["172.16.0.0/12"]


def test_no_trusted_proxies_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GTV_TRUSTED_PROXIES", raising=False)
    assert AdminSettings().trusted_proxies == []


def test_a_typo_in_trusted_proxies_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GTV_TRUSTED_PROXIES", "10.0.0.0/8,haproxy")
    with pytest.raises(ValidationError, match="haproxy"):
        AdminSettings()


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "fd00::/8"])
def test_client_ip_skips_every_trusted_hop_ipv4_and_ipv6() -> None:
    factory = RequestFactory()
    two_proxies = factory.get("/", REMOTE_ADDR="fd00::2",
                              HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.7")
    assert client_ip(two_proxies) == "203.0.113.9"
    only_proxies = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.7")
    assert client_ip(only_proxies) == "10.0.0.1"


def test_without_trusted_proxies_forwarded_for_is_ignored() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1",
                                   HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert client_ip(request) == "10.0.0.1"
