"""The request rules both services share: text, pagination, signature comparison."""

from __future__ import annotations

import pytest

from shared_kernel.pagination import MAX_PAGE, InvalidPageRequest, PageRequest
from shared_kernel.signing import constant_time_equals
from shared_kernel.text import forbidden_character, forbidden_paths


@pytest.mark.parametrize("text", ["\x00", "a\x07b", "\x1b[31m", "\x7f", "\x85", "\ud800"])
def test_control_characters_and_lone_surrogates_are_forbidden_anywhere(text: str) -> None:
    assert forbidden_character(text) is not None
    assert forbidden_character(text, one_line=True) is not None


def test_tabs_and_line_breaks_are_fine_except_in_one_line_values() -> None:
    for text in ("two\nlines", "a\tb", "crlf\r\n"):
        assert forbidden_character(text) is None
        assert forbidden_character(text, one_line=True) is not None
    assert forbidden_character("São Paulo — Praça da Sé 🚓") is None


def test_forbidden_paths_name_nested_values_and_keys() -> None:
    body = {"name": "ok", "metadata": {"tags": ["fine", "bad\x00"], "k\x00": 1},
            "list": [{"deep": "\x01"}]}
    assert sorted(forbidden_paths(body)) == ["list.0.deep", "metadata.'k\\x00'",
                                             "metadata.tags.1"]
    assert list(forbidden_paths("\x00")) == [""]
    assert list(forbidden_paths({"n": 1, "b": True, "x": None})) == []


@pytest.mark.parametrize(("page", "size", "expected"), [
    (None, None, (1, 25)), ("2", "10", (2, 10)), ("3", "999", (3, 200)),
    (" 4 ", "9" * 40, (4, 200)), (str(MAX_PAGE), None, (MAX_PAGE, 25)),
])
def test_page_requests_read_from_the_query_string(
    page: str | None, size: str | None, expected: tuple[int, int]
) -> None:
    request = PageRequest.parse(page, size, default_size=25, max_size=200)
    assert (request.number, request.size) == expected


@pytest.mark.parametrize(("page", "size", "field"), [
    ("0", None, "page"), ("-1", None, "page"), (str(MAX_PAGE + 1), None, "page"),
    ("9" * 30, None, "page"), ("1.5", None, "page"), ("1_0", None, "page"),
    ("\u0661", None, "page"), (None, "0", "page_size"), (None, "-799", "page_size"),
    (None, "ten", "page_size"),
])
def test_unusable_page_requests_name_their_parameter(
    page: str | None, size: str | None, field: str
) -> None:
    with pytest.raises(InvalidPageRequest) as raised:
        PageRequest.parse(page, size, default_size=25, max_size=200)
    assert raised.value.field == field


def test_a_page_past_the_end_is_known_before_querying_it() -> None:
    assert not PageRequest(1, 10).past_end(0)
    assert not PageRequest(3, 10).past_end(21)
    assert PageRequest(3, 10).past_end(20)
    assert PageRequest(MAX_PAGE, 500).offset == (MAX_PAGE - 1) * 500 < 2**63


@pytest.mark.parametrize("presented", ["é", "\ud800", "\x00", "", "x" * 1000, b"\xff"])
def test_constant_time_equals_never_raises_on_what_a_client_sends(
    presented: str | bytes
) -> None:
    assert constant_time_equals(presented, "c2lnbmF0dXJl") is False
    assert constant_time_equals("c2lnbmF0dXJl", "c2lnbmF0dXJl") is True
