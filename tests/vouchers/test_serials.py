"""Serial numbers from a range, a pasted list or a file: what is accepted and refused."""

from __future__ import annotations

import pytest

from funds.errors import ValidationError
from funds.vouchers.serials import (
    MAX_BATCH,
    check_serials,
    serials_from_range,
    serials_from_text,
    without_header,
)


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("TES0001", "TES0003", ["TES0001", "TES0002", "TES0003"]),
        ("TES0098", "TES0101", ["TES0098", "TES0099", "TES0100", "TES0101"]),
        ("1001", "1003", ["1001", "1002", "1003"]),
        ("V98", "V101", ["V98", "V99", "V100", "V101"]),  # unpadded may grow
        (
            "UNI-2024/009",
            "UNI-2024/011",
            ["UNI-2024/009", "UNI-2024/010", "UNI-2024/011"],
        ),
        (" TES0005 ", "TES0005", ["TES0005"]),
    ],
)
def test_a_range_keeps_the_prefix_and_zero_padding(first, last, expected):
    assert serials_from_range(first, last) == expected


def test_the_largest_range_is_a_whole_batch():
    serials = serials_from_range("A00001", f"A{MAX_BATCH:05d}")
    assert len(serials) == MAX_BATCH
    assert serials[0] == "A00001" and serials[-1] == "A10000"


@pytest.mark.parametrize(
    ("first", "last", "field", "words"),
    [
        ("TES0001", "ASD0010", "first_serial", "same letters"),  # prefix mismatch
        ("TES0001", "TES00010", "first_serial", "same number of digits"),
        ("TES100", "TES0200", "first_serial", "same number of digits"),
        ("TES0010", "TES0001", "last_serial", "after the first"),  # reversed
        ("A00001", "A10001", "first_serial", "at most 10,000"),  # too large
        ("TES", "TES0001", "first_serial", "ending in digits"),
        ("", "TES0001", "first_serial", "first and last"),
        ("TES 0001", "TES 0002", "first_serial", "only letters"),
        ("=1+1", "=1+2", "first_serial", "only letters"),
    ],
)
def test_bad_ranges_are_refused_with_a_reason(first, last, field, words):
    with pytest.raises(ValidationError) as refused:
        serials_from_range(first, last)
    assert refused.value.field == field
    assert words in refused.value.message


def test_a_pasted_list_splits_on_lines_commas_and_tabs():
    text = "TES0001\r\nTES0002, TES0003\n\n\tTES0004;TES0005  \n"
    assert serials_from_text(text) == [f"TES000{n}" for n in range(1, 6)]


@pytest.mark.parametrize(
    "heading", ["Serial", "Serial number", "Voucher code", "SERIAL NO."]
)
def test_a_heading_line_in_a_pasted_list_is_skipped(heading):
    assert serials_from_text(f"{heading}\nTES0001\nTES0002") == ["TES0001", "TES0002"]


def test_only_the_first_line_can_be_a_heading():
    assert without_header(["1001", "Serial"]) == ["1001", "Serial"]
    assert without_header(["Serial", "1001"]) == ["1001"]
    assert without_header([]) == []


def test_an_empty_paste_gives_nothing():
    assert serials_from_text("  \n\n") == []
    with pytest.raises(ValidationError, match="at least one"):
        check_serials([], field="serials")


@pytest.mark.parametrize(
    "bad",
    [
        "TES 0001",
        "TES_0001",
        "-TES0001",
        "=HYPERLINK(1)",
        "TES0001\x00",
        "TES\u202e0001",
        "ＴＥＳ０００１",  # full-width
        "X" * 65,
    ],
)
def test_bad_characters_are_refused_and_named(bad):
    with pytest.raises(ValidationError) as refused:
        check_serials(["TES0001", bad], field="serials")
    assert refused.value.field == "serials"
    assert "only letters, digits" in refused.value.message
    # The echo is printable ASCII and short: nothing hidden reaches the page.
    assert "\x00" not in refused.value.message
    assert "\u202e" not in refused.value.message


def test_repeated_serials_are_refused_and_named():
    with pytest.raises(ValidationError) as refused:
        check_serials(
            ["TES0001", "TES0002", "TES0001", "TES0003", "TES0002"], field="serials"
        )
    assert "appear more than once" in refused.value.message
    assert "TES0001" in refused.value.message and "TES0002" in refused.value.message
    assert "TES0003" not in refused.value.message


def test_more_than_a_batch_is_refused():
    with pytest.raises(ValidationError, match="at most 10,000"):
        check_serials([f"S{n}" for n in range(MAX_BATCH + 1)], field="serials")


def test_good_serials_come_back_unchanged():
    serials = ["TES0001", "uni-2024/1", "9"]
    assert check_serials(serials, field="serials") is serials
