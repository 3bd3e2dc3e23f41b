"""Settings every GT-Vision process shares, read from the environment (prefix ``GTV_``).

On a developer machine ``make keys`` writes generated secrets to ``.secrets/dev.env``;
that file is read as a fallback for variables the environment does not set. Production
sets everything in the environment and has no such file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared_kernel.camera_network import CameraNetworkPolicy
from shared_kernel.networks import parse_networks, split_list_setting

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_ENV_FILE = PROJECT_ROOT / ".secrets" / "dev.env"


class CommonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GTV_", env_file=DEV_ENV_FILE, env_file_encoding="utf-8", extra="ignore"
    )

    environment: str = "development"
    log_level: str = "INFO"
    redis_url: str = "redis://127.0.0.1:6379/0"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    jwt_public_key: SecretStr | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "gt-vision-admin"
    jwt_audience: str = "gt-vision"
    camera_credentials_key: SecretStr = Field(
        default=SecretStr(""), description="Fernet key(s), comma separated, newest first"
    )
    # Where camera URLs may point (shared_kernel/camera_network.py): CIDRs, comma
    # separated or a JSON list. Allowed: the networks the cameras live on (empty: public
    # addresses only). Denied: the platform's own networks, refused even inside an
    # allowed network unless a more specific allowed network names a camera subnet.
    camera_allowed_networks: Annotated[list[str], NoDecode] = []
    camera_denied_networks: Annotated[list[str], NoDecode] = []
    camera_dns_timeout_seconds: float = Field(default=2.0, gt=0, le=30)

    @field_validator("camera_allowed_networks", "camera_denied_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        return split_list_setting(value)

    @field_validator("camera_allowed_networks", "camera_denied_networks")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        return [str(network) for network in parse_networks(value)]

    def camera_network_policy(self) -> CameraNetworkPolicy:
        """The camera address policy these settings describe."""
        return CameraNetworkPolicy.from_strings(
            self.camera_allowed_networks, self.camera_denied_networks,
            dns_timeout=self.camera_dns_timeout_seconds)

    # Reverse proxies (HAProxy, Kong) whose X-Forwarded-For is believed, for every service:
    # IPs or CIDRs, comma separated or a JSON list. Empty: the TCP peer is the client.
    # See shared_kernel/proxies.py.
    trusted_proxies: Annotated[list[str], NoDecode] = []

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        return split_list_setting(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_proxies(cls, value: list[str]) -> list[str]:
        return [str(net) for net in parse_networks(value)]

    def public_key_pem(self) -> str:
        return _pem(self.jwt_public_key, self.jwt_public_key_file, "GTV_JWT_PUBLIC_KEY")


def _pem(inline: SecretStr | None, path: Path | None, name: str) -> str:
    if inline is not None and inline.get_secret_value().strip():
        return inline.get_secret_value().replace("\\n", "\n")
    if path is not None:
        return Path(path).read_text()
    raise RuntimeError(f"{name} or {name}_FILE must be set (run `make keys` on a dev machine)")


def private_key_pem(inline: SecretStr | None, path: Path | None) -> str:
    return _pem(inline, path, "GTV_JWT_PRIVATE_KEY")
