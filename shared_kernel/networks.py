"""IP networks in settings (trusted proxies, camera networks): one parser, one list form."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "192.168.1.5"]`` → networks (host bits cleared: ``10.1.2.3/16`` is
    ``10.1.0.0/16``). Raises ``ValueError`` naming the first value that is not one, so a
    misspelt list stops a service at start-up instead of meaning nobody (or everyone)."""
    networks: list[Network] = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR network: {text!r}") from None
    return tuple(networks)


def split_list_setting(value: object) -> object:
    """A list setting as the environment gives it → a list: a JSON list
    (``["10.0.0.0/8"]``) or a comma-separated string (``10.0.0.0/8, 192.168.1.5``);
    anything else is left to validation."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value
