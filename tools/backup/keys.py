"""Do the encryption keys fit the database? A restored database is useless without the
camera-credentials key it was written with (``GTV_CAMERA_CREDENTIALS_KEY``; the keys are
backed up separately from the database, docs/operations.md): this check decrypts one
stored camera credential of each service and reports, instead of letting streams fail
one by one later."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from shared_kernel.crypto import CredentialCipher

# (service, query) pairs: the newest stored credential of each service, if any.
PROBES = (
    ("admin", "SELECT rtsp_url_encrypted FROM cidades.cameras "
              "ORDER BY created_at DESC LIMIT 1"),
    ("streaming", "SELECT rtsp_url_encrypted FROM streaming.cameras "
                  "ORDER BY updated_at DESC LIMIT 1"),
)


@dataclass(frozen=True)
class KeyCheck:
    ok: bool
    checked: int
    """Stored credentials tried (0: nothing encrypted yet, so nothing to prove)."""
    message: str


def check_camera_credentials(database_url: str, keys: str) -> KeyCheck:
    """Decrypt one stored camera credential per service with ``keys``."""
    try:
        cipher = CredentialCipher(keys)
    except ValueError as exc:
        return KeyCheck(False, 0, f"GTV_CAMERA_CREDENTIALS_KEY is unusable: {exc}")
    checked = 0
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        for service, query in PROBES:
            try:
                row = conn.execute(query).fetchone()
            except psycopg.errors.UndefinedTable:
                conn.rollback()
                continue
            except psycopg.errors.InsufficientPrivilege:
                conn.rollback()
                continue
            if row is None:
                continue
            checked += 1
            try:
                cipher.decrypt(row[0])
            except ValueError:
                return KeyCheck(False, checked, (
                    f"the {service} service's camera credentials cannot be decrypted with "
                    "the configured GTV_CAMERA_CREDENTIALS_KEY: restore the key backup that "
                    "belongs to this database (docs/operations.md, 'Encryption keys')"))
    if checked == 0:
        return KeyCheck(True, 0, "no stored camera credentials to check")
    return KeyCheck(True, checked, f"{checked} stored camera credential(s) decrypt")
