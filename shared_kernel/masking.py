"""Masking of credentials in URLs: the one implementation every service and log uses.

Camera URLs carry credentials in two places. The standard one is the userinfo
(``rtsp://user:password@host/...``). Many devices (Intelbras, Dahua, Hikvision and their
OEMs) also take them as parameters, in the path or in the query, separated by ``&`` or
``;``: ``rtsp://host/user=admin&password=x&channel=1`` or ``rtsp://host/cam?pwd=x``.
Both are masked: the userinfo becomes ``***:***`` (or ``***``), and the value of every
parameter whose name looks like a credential becomes ``***``.

The rule errs on the side of masking: a value runs to the next ``&``, ``;``, ``?`` or
``#`` (in the query, to the next ``&``, ``;`` or ``#``), so an unencoded ``/`` inside a
password is masked with it; an over-masked display URL costs nothing, a leaked password
does. The masked form is idempotent (masking it again changes nothing), so stored masked
copies can be re-masked safely.
"""

from __future__ import annotations

import re

MASK = "***"

# Parameter names (compared lowercased, without ``-``, ``_`` and ``.``) that carry a
# credential, and fragments that make any name one (``user_password``, ``x-api-key``).
CREDENTIAL_NAMES = frozenset({
    "user", "usr", "username", "userid", "login", "pass", "pw", "pwd",
    "passwd", "password", "passphrase", "token", "auth", "key", "secret", "apikey", "sig",
    "signature", "credential", "credentials", "session", "sessionid", "sid",
})
CREDENTIAL_FRAGMENTS = ("pass", "pwd", "token", "secret", "auth", "apikey", "accesskey",
                        "credential", "signature", "session", "username", "login")

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# ``name=`` right after a delimiter, in the path and in the query (or fragment); a value
# ends at the first of the stop characters.
_PATH_KEY = re.compile(r"(?:^|(?<=[/&;]))(?P<key>[^/?#&;=]+)=")
_QUERY_KEY = re.compile(r"(?:^|(?<=[/?&;]))(?P<key>[^/?#&;=]+)=")
_PATH_STOPS = "&;?#"
_QUERY_STOPS = "&;#"
# URLs inside free text: a scheme, ``://``, and everything up to whitespace, a quote, an
# angle bracket or a backslash (JSON-escaped quotes end a URL too).
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"<>\\]+")


def is_credential_name(name: str) -> bool:
    """Whether a URL parameter named ``name`` holds a credential."""
    key = re.sub(r"[-_.\s]", "", name).lower()
    return key in CREDENTIAL_NAMES or any(fragment in key for fragment in CREDENTIAL_FRAGMENTS)


def _mask_params(text: str, keys: re.Pattern[str], stops: str) -> str:
    """``text`` with the value of each credential parameter replaced by the mask.

    Scanned by hand rather than with one substitution: a value may run over ``/`` (see
    the module doc), and a parameter that is not a credential must not swallow the ones
    after it."""
    out: list[str] = []
    done = 0
    for match in keys.finditer(text):
        if match.start() < done or not is_credential_name(match["key"]):
            continue
        start = end = match.end()
        while end < len(text) and text[end] not in stops:
            end += 1
        if end == start:
            continue
        out += [text[done:start], MASK]
        done = end
    out.append(text[done:])
    return "".join(out)


def _mask_rest(rest: str) -> str:
    """Path, query and fragment of a URL with credential parameters masked."""
    path, question, query = rest.partition("?")
    if not question:
        path, hash_, fragment = path.partition("#")
        masked = _mask_params(path, _PATH_KEY, _PATH_STOPS)
        return f"{masked}{hash_}{_mask_params(fragment, _QUERY_KEY, _QUERY_STOPS)}"
    return (f"{_mask_params(path, _PATH_KEY, _PATH_STOPS)}?"
            f"{_mask_params(query, _QUERY_KEY, _QUERY_STOPS)}")


def mask_url(url: str) -> str:
    """``url`` with its userinfo and every credential-looking parameter masked.

    Safe to show to any user and to log. Never raises: text that is not a URL comes back
    with only its parameters masked.
    """
    scheme = _SCHEME.match(url)
    if scheme is None:
        return _mask_rest(url)
    start = scheme.end()
    end = len(url)
    for delimiter in "/?#":
        found = url.find(delimiter, start)
        if found != -1:
            end = min(end, found)
    authority, rest = url[start:end], url[end:]
    userinfo, at, host = authority.rpartition("@")
    if at:
        authority = f"{MASK}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    return f"{url[:start]}{authority}{_mask_rest(rest)}"


def mask_urls_in_text(text: str) -> str:
    """``text`` (a log line, ffmpeg's stderr, an exception message) with every URL in it
    masked by :func:`mask_url`."""
    return _URL_IN_TEXT.sub(lambda match: mask_url(match[0]), text)


# A query parameter inside free text that is not a whole URL (a request path in a log line:
# ``GET /ws/alerts?token=eyJ...``): a name after ``?``, ``&`` or ``;`` and its value.
_PARAM_IN_TEXT = re.compile(r"(?P<lead>[?&;])(?P<key>[A-Za-z0-9_.\-]+)=(?P<value>[^&;#\s\"'<>\\]*)")


def mask_secrets_in_text(text: str) -> str:
    """``text`` with every URL masked (:func:`mask_urls_in_text`) and every credential
    parameter of a path without a scheme too — what log lines go through."""

    def param(match: re.Match[str]) -> str:
        if not match["value"] or match["value"] == MASK or not is_credential_name(match["key"]):
            return match[0]
        return f"{match['lead']}{match['key']}={MASK}"

    return _PARAM_IN_TEXT.sub(param, mask_urls_in_text(text))
