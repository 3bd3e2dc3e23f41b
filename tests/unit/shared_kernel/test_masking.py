"""Credentials never survive masking: in the userinfo, and as path or query parameters
(``user=admin&password=x``, ``?pwd=x``) the way Intelbras/Dahua/Hikvision URLs carry
them."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared_kernel.crypto import mask_rtsp_url
from shared_kernel.logging import JsonFormatter, mask_url_credentials
from shared_kernel.masking import is_credential_name, mask_url, mask_urls_in_text


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("rtsp://10.0.0.5/user=admin&password=Sup3r&channel=1&stream=0.sdp?",
         "rtsp://10.0.0.5/user=***&password=***&channel=1&stream=0.sdp?"),
        ("rtsp://cam/live?password=Sup3r", "rtsp://cam/live?password=***"),
        ("rtsp://cam/cam/realmonitor?channel=1&subtype=0&PWD=Sup3r;Token=abc",
         "rtsp://cam/cam/realmonitor?channel=1&subtype=0&PWD=***;Token=***"),
        ("rtsp://u:p@cam:554/Streaming/Channels/101?auth=xyz&apikey=k",
         "rtsp://***:***@cam:554/Streaming/Channels/101?auth=***&apikey=***"),
        ("rtsp://cam/a=1/passwd=Sup3r&b=2", "rtsp://cam/a=1/passwd=***&b=2"),
        ("rtsp://cam/x?Pass=a/b&secret=s&key=k&usEr=u&username=n&pwd=p",
         "rtsp://cam/x?Pass=***&secret=***&key=***&usEr=***&username=***&pwd=***"),
        ("rtsp://cam/Streaming/Channels/101", "rtsp://cam/Streaming/Channels/101"),
        ("rtsp://cam/live?channel=1&subtype=0", "rtsp://cam/live?channel=1&subtype=0"),
        ("rtsp://adm:p@ss:w@rd@cam/x", "rtsp://***:***@cam/x"),
    ],
)
def test_credentials_in_userinfo_path_and_query_are_masked(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_url(masked) == masked


def test_old_names_are_the_same_masking() -> None:
    url = "rtsp://u:p@h/user=admin&password=x"
    assert mask_rtsp_url(url) == mask_url(url) == "rtsp://***:***@h/user=***&password=***"
    assert mask_url_credentials(f"see {url} now") == f"see {mask_url(url)} now"


def test_urls_inside_text_are_masked() -> None:
    line = ("[rtsp @ 0x55] rtsp://viewer:Sup3r@10.0.0.5:554/cam?password=Sup3r: "
            "Server returned 401 Unauthorized; then 'rtsp://h/pwd=Sup3r&ch=1' \"x\"")
    masked = mask_urls_in_text(line)
    assert "Sup3r" not in masked
    assert "Server returned 401 Unauthorized" in masked and "ch=1'" in masked


def test_json_log_lines_mask_message_and_extra_fields() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "pulling %s",
                               ("rtsp://h/user=admin&password=Sup3r",), None)
    record.error = "failed: rtsp://h/cam?pwd=Sup3r"
    line = JsonFormatter("test").format(record)
    assert "Sup3r" not in line
    assert json.loads(line)["message"] == "pulling rtsp://h/user=***&password=***"


@pytest.mark.parametrize("name", ["password", "PassWord", "pwd", "passwd", "pass", "user",
                                  "username", "token", "auth", "key", "secret", "apikey",
                                  "api_key", "X-Api-Key", "user_password", "access_token"])
def test_credential_parameter_names(name: str) -> None:
    assert is_credential_name(name)


@pytest.mark.parametrize("name", ["channel", "subtype", "stream", "profile", "resolution"])
def test_ordinary_parameter_names(name: str) -> None:
    assert not is_credential_name(name)


# --- properties ---------------------------------------------------------------------------

CREDENTIAL_KEYS = ["password", "pwd", "passwd", "pass", "username", "user", "token", "auth",
                   "key", "secret", "apikey"]
# What a secret may hold inside a URL without percent-encoding: the delimiters of the part
# it is in (``/ ? # & ;``), ``%`` and whitespace are out; ``@`` and ``:`` only in the
# userinfo.
_VALUE_CHARS = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                "-._~!$'()*+,=")
values = st.text(alphabet=_VALUE_CHARS, min_size=3, max_size=16)
userinfo_secrets = st.text(alphabet=_VALUE_CHARS + ":@", min_size=3, max_size=16)
plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-", min_size=1, max_size=8)
keys = st.sampled_from(CREDENTIAL_KEYS).flatmap(
    lambda k: st.sampled_from([k, k.upper(), k.capitalize()]))


@st.composite
def camera_urls(draw: st.DrawFn) -> tuple[str, list[str], str]:
    """A camera URL with secrets in any of the places devices put them, the secrets, and
    the same URL with every secret left empty (what the secrets must not be part of)."""
    secrets: list[str] = []
    url = skeleton = ""

    def add(text: str, secret: str | None = None) -> None:
        nonlocal url, skeleton
        url += text + (secret or "")
        skeleton += text
        if secret is not None:
            secrets.append(secret)

    def params() -> None:
        for index in range(draw(st.integers(1, 3))):
            sep = draw(st.sampled_from(["&", ";"])) if index else ""
            if draw(st.booleans()):
                add(f"{sep}{draw(keys)}=", draw(values))
            else:
                add(f"{sep}{draw(plain)}={draw(plain)}")

    add(draw(st.sampled_from(["rtsp://", "rtsps://", "RTSP://"])))
    if draw(st.booleans()):
        add(f"{draw(plain)}:", draw(userinfo_secrets))
        add("@")
    add(draw(st.sampled_from(["10.0.0.5", "cam.local", "[fd00::5]", "h"])))
    if draw(st.booleans()):
        add(f":{draw(st.integers(1, 65535))}")
    for _ in range(draw(st.integers(0, 3))):
        add("/")
        if draw(st.booleans()):
            params()
        else:
            add(draw(plain))
    if draw(st.booleans()):
        add("?")
        params()
    return url, secrets, skeleton


@given(camera_urls())
def test_no_generated_secret_survives_masking(case: tuple[str, list[str], str]) -> None:
    url, secrets, skeleton = case
    masked = mask_url(url)
    for secret in secrets:
        # A secret that is also an ordinary part of the URL (a host, a path segment)
        # proves nothing either way.
        assume(secret not in skeleton and secret not in mask_url(skeleton))
        assert secret not in masked
    assert mask_url(masked) == masked


@given(camera_urls(), st.sampled_from(["{} failed", "error: {}: 401", "'{}'", '"{}"',
                                      "({})", "x={} y"]))
def test_no_generated_secret_survives_masking_inside_text(
    case: tuple[str, list[str], str], template: str
) -> None:
    url, secrets, skeleton = case
    masked = mask_urls_in_text(template.format(url))
    for secret in secrets:
        assume(secret not in skeleton and secret not in mask_url(skeleton)
               and secret not in template)
        assert secret not in masked
