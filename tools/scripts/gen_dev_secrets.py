"""Generate development secrets into .secrets/ (never committed). Idempotent."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def main(root: Path) -> None:
    out = root.resolve() / ".secrets"
    out.mkdir(mode=0o700, exist_ok=True)
    env_file = out / "dev.env"
    if env_file.exists():
        print(f"{env_file} exists; keeping it")
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = out / "jwt_private.pem"
    public = out / "jwt_public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private.chmod(0o600)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    env_file.write_text(
        "\n".join(
            [
                f"GTV_JWT_PRIVATE_KEY_FILE={private}",
                f"GTV_JWT_PUBLIC_KEY_FILE={public}",
                f"GTV_CAMERA_CREDENTIALS_KEY={Fernet.generate_key().decode()}",
                f"GTV_DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}",
                f"GTV_MEDIA_TOKEN_SECRET={secrets.token_urlsafe(32)}",
                "",
            ]
        )
    )
    env_file.chmod(0o600)
    print(f"wrote development secrets to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
