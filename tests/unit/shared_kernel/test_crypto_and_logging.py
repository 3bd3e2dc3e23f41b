import json
import logging

import pytest

from shared_kernel.crypto import CredentialCipher, mask_rtsp_url
from shared_kernel.logging import JsonFormatter, mask_url_credentials


def test_cipher_round_trip_and_rotation() -> None:
    old, new = CredentialCipher.generate_key(), CredentialCipher.generate_key()
    token = CredentialCipher(old).encrypt("rtsp://admin:s3cret@10.0.0.5/stream")
    rotated = CredentialCipher(f"{new},{old}")
    assert rotated.decrypt(token) == "rtsp://admin:s3cret@10.0.0.5/stream"
    assert "s3cret" not in token


def test_cipher_with_wrong_key_fails_clearly() -> None:
    token = CredentialCipher(CredentialCipher.generate_key()).encrypt("x")
    with pytest.raises(ValueError, match="cannot be decrypted"):
        CredentialCipher(CredentialCipher.generate_key()).decrypt(token)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("rtsp://admin:s3cret@cam.local:554/live", "rtsp://***:***@cam.local:554/live"),
        ("rtsp://admin@cam.local/live", "rtsp://***@cam.local/live"),
        ("rtsp://cam.local/live", "rtsp://cam.local/live"),
        ("rtsps://u:p@[::1]:8554/a?b=c", "rtsps://***:***@[::1]:8554/a?b=c"),
    ],
)
def test_mask_rtsp_url(url: str, masked: str) -> None:
    assert mask_rtsp_url(url) == masked


def test_log_lines_are_json_with_masked_credentials() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "pulling %s", ("rtsp://admin:s3cret@h/x",), None
    )
    line = json.loads(JsonFormatter("test").format(record))
    assert line["message"] == "pulling rtsp://***:***@h/x"
    assert line["service"] == "test" and line["level"] == "INFO"
    assert "s3cret" not in mask_url_credentials("see http://a:s3cret@b and rtsp://c:d@e")
