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


def test_token_like_query_values_are_redacted_from_every_log_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from shared_kernel.logging import configure_logging

    configure_logging("test", "INFO")
    logging.getLogger("httpx").info(
        "HTTP Request: GET %s", "http://s/api/streaming/live/c/index.m3u8?token=MEDIA.TOK&x=1"
    )
    logging.getLogger("x").info("signed /media/a.mp4?expires=9&sig=S1GNATURE")
    out = capsys.readouterr().out
    assert "MEDIA.TOK" not in out and "S1GNATURE" not in out
    assert "?token=***&x=1" in out and "expires=9&sig=***" in out


def test_uvicorn_websocket_lines_lose_their_token_and_keep_their_arguments() -> None:
    from shared_kernel.logging import RedactSecretsFilter, redact_server_logs

    redact_server_logs()
    redact_server_logs()  # idempotent
    logger = logging.getLogger("uvicorn.error")
    assert sum(isinstance(f, RedactSecretsFilter) for f in logger.filters) == 1
    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" [accepted]',
        ("10.0.0.1:5000", "/ws/alerts?token=eyJ.SECRET.SIG"), None,
    )
    assert logger.filter(record)
    assert record.args == ("10.0.0.1:5000", "/ws/alerts?token=***")
    assert "SECRET" not in record.getMessage()
