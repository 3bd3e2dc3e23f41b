"""Encryption of camera credentials, shared so the streaming side can decrypt RTSP URLs.

The admin service stores camera URLs encrypted and puts only the ciphertext on the bus;
the streaming service decrypts at the moment it hands the URL to its media engine.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared_kernel.masking import mask_url


class CredentialCipher:
    """Fernet with key rotation: the first key encrypts, every key decrypts."""

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("at least one camera-credentials key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError(
                "camera credentials cannot be decrypted with the configured keys"
            ) from exc


# The old name of the one URL-masking function (shared_kernel.masking), for callers
# written before it moved there.
mask_rtsp_url = mask_url
