"""PlateNumber and PlatePattern: Brazilian plate grammar, OCR fixes, layout equivalence."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared_kernel.plates import (
    DIGIT_TO_LETTER,
    LETTER_TO_DIGIT,
    PlateNumber,
    PlatePattern,
    normalise,
)

letters = st.sampled_from(string.ascii_uppercase)
digits = st.sampled_from(string.digits)


@st.composite
def old_plates(draw: st.DrawFn) -> str:
    return "".join(draw(st.tuples(letters, letters, letters, digits, digits, digits, digits)))


@st.composite
def mercosul_plates(draw: st.DrawFn) -> str:
    return "".join(draw(st.tuples(letters, letters, letters, digits, letters, digits, digits)))


any_plate = st.one_of(old_plates(), mercosul_plates())


@pytest.mark.parametrize(
    ("raw", "expected", "style"),
    [
        ("ABC1234", "ABC1234", "old"),
        ("abc-1234", "ABC1234", "old"),
        (" ABC 1D23 ", "ABC1D23", "mercosul"),
        ("abc.1d23", "ABC1D23", "mercosul"),
        ("A8C1234", "ABC1234", "old"),  # 8 in a letter position is a B
        ("0BC1234", "OBC1234", "old"),
        ("ABCI234", "ABC1234", "old"),  # I in a digit position is a 1
        ("ABC1DZ3", "ABC1D23", "mercosul"),
        ("ABC1D2O", "ABC1D20", "mercosul"),
        ("5G01234", "SGO1234", "old"),
        ("ABCO0B5", "ABC0085", "old"),
    ],
)
def test_parse_normalises_and_fixes_confusions_by_position(
    raw: str, expected: str, style: str
) -> None:
    plate = PlateNumber.parse(raw)
    assert plate.value == expected
    assert plate.style == style


@pytest.mark.parametrize(
    "raw",
    ["", "ABC123", "ABC12345", "ABCXY12", "BRASIL", "ABC1?23", "ÁBC1234", "AB#1234", "3331234"],
)
def test_parse_rejects_non_plates(raw: str) -> None:
    with pytest.raises(ValueError):
        PlateNumber.parse(raw)


def test_constructor_rejects_unnormalised_text() -> None:
    with pytest.raises(ValueError):
        PlateNumber("abc1234")


def test_mercosul_fifth_letter_maps_to_old_digit() -> None:
    assert PlateNumber.parse("ABC1D23").to_old() == PlateNumber("ABC1323")
    assert PlateNumber.parse("ABC1A23").to_old() == PlateNumber("ABC1023")
    assert PlateNumber.parse("ABC1J23").to_old() == PlateNumber("ABC1923")
    assert PlateNumber.parse("ABC1923").to_mercosul() == PlateNumber("ABC1J23")


def test_mercosul_letter_beyond_j_has_no_old_form() -> None:
    plate = PlateNumber.parse("ABC1K23")
    assert plate.to_old() is None
    assert plate.equivalent_forms() == {"ABC1K23"}


def test_formatted_uses_hyphen_only_for_old_plates() -> None:
    assert PlateNumber("ABC1234").formatted() == "ABC-1234"
    assert PlateNumber("ABC1D23").formatted() == "ABC1D23"


@given(any_plate)
def test_valid_plates_parse_to_themselves(text: str) -> None:
    assert PlateNumber.parse(text).value == text


@given(any_plate, st.lists(st.sampled_from([" ", "-", "."]), max_size=3), st.data())
def test_separators_and_case_do_not_matter(text: str, seps: list[str], data: st.DataObject) -> None:
    noisy = list(text.lower())
    for sep in seps:
        noisy.insert(data.draw(st.integers(0, len(noisy))), sep)
    assert PlateNumber.parse("".join(noisy)).value == text


@given(old_plates())
def test_old_to_mercosul_round_trips(text: str) -> None:
    plate = PlateNumber(text)
    mercosul = plate.to_mercosul()
    assert mercosul.style == "mercosul"
    assert mercosul.to_old() == plate
    assert plate.same_vehicle(mercosul)


@given(any_plate, st.data())
def test_ocr_confusions_are_undone_by_position(text: str, data: st.DataObject) -> None:
    confused = list(text)
    for i in (0, 1, 2):
        inverse = {v: k for k, v in DIGIT_TO_LETTER.items()}
        if confused[i] in inverse and data.draw(st.booleans()):
            confused[i] = inverse[confused[i]]
    for i in (3, 5, 6):
        candidates = [k for k, v in LETTER_TO_DIGIT.items() if v == confused[i]]
        if candidates and data.draw(st.booleans()):
            confused[i] = data.draw(st.sampled_from(candidates))
    assert PlateNumber.parse("".join(confused)).value == text


@given(st.text(max_size=12))
def test_parse_never_returns_an_invalid_plate(text: str) -> None:
    try:
        plate = PlateNumber.parse(text)
    except ValueError:
        return
    assert len(plate.value) == 7
    assert plate.value[:3].isalpha() and plate.value[3].isdigit()
    assert plate.value[5:].isdigit()
    assert normalise(plate.value) == plate.value


@pytest.mark.parametrize(
    ("pattern", "plate", "hit"),
    [
        ("ABC*", "ABC1234", True),
        ("ABC*", "ABD1234", False),
        ("abc-1d23", "ABC1323", True),  # layout-blind exact match
        ("ABC1323", "ABC1D23", True),
        ("ABC1?23", "ABC1D23", True),
        ("ABC1?23", "ABC1D24", False),
        ("*1D23", "XYZ1D23", True),
        ("*1D23", "XYZ1323", True),  # the old twin of a converted plate
        ("ABC13*", "ABC1D99", True),
        ("ABC1K23", "ABC1023", False),
    ],
)
def test_watchlist_pattern_matching(pattern: str, plate: str, hit: bool) -> None:
    assert PlatePattern.parse(pattern).matches(PlateNumber.parse(plate)) is hit


@pytest.mark.parametrize("pattern", ["*", "???", "**", "ABC1234*5", "ABC#", "ABC12", "ABC12345*"])
def test_watchlist_pattern_rejects_useless_or_malformed_patterns(pattern: str) -> None:
    with pytest.raises(ValueError):
        PlatePattern.parse(pattern)


@given(any_plate)
def test_exact_pattern_matches_its_plate_in_both_layouts(text: str) -> None:
    plate = PlateNumber(text)
    pattern = PlatePattern.parse(text)
    for form in plate.equivalent_forms():
        assert pattern.matches(PlateNumber(form))
