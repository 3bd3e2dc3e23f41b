"""The RTSP URL and metadata validators (pure Python, no database)."""

from __future__ import annotations

import contextlib
import string

import pytest
from cameras.validators import (
    MAX_RTSP_URL_LENGTH,
    InvalidMetadata,
    InvalidRtspUrl,
    validate_metadata,
    validate_rtsp_url,
)
from hypothesis import given
from hypothesis import strategies as st

from shared_kernel.crypto import mask_rtsp_url

labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=20)
hosts = st.one_of(
    st.lists(labels, min_size=1, max_size=4).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
)
credentials = st.text(string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=16)
paths = st.text(string.ascii_letters + string.digits + "/_-.", max_size=40)


@given(scheme=st.sampled_from(["rtsp", "rtsps", "RTSP"]), host=hosts,
       port=st.one_of(st.none(), st.integers(1, 65535)), user=credentials,
       password=credentials, path=paths)
def test_well_formed_urls_are_accepted(scheme: str, host: str, port: int | None, user: str,
                                       password: str, path: str) -> None:
    netloc = f"{user}:{password}@{host}" + (f":{port}" if port else "")
    url = f"{scheme}://{netloc}/{path}"
    assert validate_rtsp_url(url) == url
    masked = mask_rtsp_url(url)
    assert f":{password}@" not in masked and "***" in masked


@given(scheme=st.text(string.ascii_lowercase, min_size=1, max_size=8).filter(
    lambda s: s not in {"rtsp", "rtsps"}), host=hosts)
def test_other_schemes_are_refused(scheme: str, host: str) -> None:
    with pytest.raises(InvalidRtspUrl):
        validate_rtsp_url(f"{scheme}://{host}/stream")


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    with contextlib.suppress(InvalidRtspUrl):
        assert validate_rtsp_url(text) == text


@given(prefix=st.sampled_from(["http", "rtsp", "rtmp", "rtsp:"]),
       secret=st.text(string.ascii_letters, min_size=12, max_size=20), rest=st.text(max_size=30))
def test_errors_never_echo_credentials(prefix: str, secret: str, rest: str) -> None:
    try:
        validate_rtsp_url(f"{prefix}://admin:{secret}@{rest}")
    except InvalidRtspUrl as exc:
        assert secret not in str(exc)


@pytest.mark.parametrize("value", [
    None, 42, b"rtsp://h/s", "", "rtsp://", "rtsp:///x", "rtsp://:pw@/x", "rtsp://h:0/x",
    "rtsp://h:70000/x", "rtsp://h:abc/x", "rtsp://h/ x", "rtsp://h/x\n", "rtsp:h/x",
    "rtsp://h/x#f", "rtsp://-bad-.com/x", "rtsp://a..b/x", "rtsp://[::g]/x",
    "rtsp://h/" + "x" * MAX_RTSP_URL_LENGTH, "rtsp://h/<script>",
])
def test_malformed_urls_are_refused(value: object) -> None:
    with pytest.raises(InvalidRtspUrl):
        validate_rtsp_url(value)


def test_metadata_bounds() -> None:
    assert validate_metadata({"vendor": "hikvision", "tags": [1, 2]}) == {
        "vendor": "hikvision", "tags": [1, 2]}
    for bad in ([], "x", {"x": "y" * 20_000}, {"n": float("nan")}, {"a": {"b": {"c": {"d": {
            "e": {"f": {"g": {"h": {"i": 1}}}}}}}}}):
        with pytest.raises(InvalidMetadata):
            validate_metadata(bad)
