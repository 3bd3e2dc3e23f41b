"""Settings every GT-Vision process shares, read from the environment (prefix ``GTV_``).

On a developer machine ``make keys`` writes generated secrets to ``.secrets/dev.env``;
that file is read as a fallback for variables the environment does not set. Production
sets everything in the environment and has no such file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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
