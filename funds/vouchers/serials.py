"""Voucher serial numbers: from a range, a pasted list or a supplier's file."""

from __future__ import annotations

import re

from funds.errors import ValidationError

SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9/-]{0,63}", re.ASCII)
_TRAILING_DIGITS = re.compile(r"^(.*?)([0-9]+)$", re.ASCII)
_SEPARATORS = re.compile(r"[\s,;]+")
_DIGIT = re.compile(r"[0-9]", re.ASCII)
MAX_BATCH = 10_000


def serials_from_range(
    first: str, last: str, *, field: str = "first_serial"
) -> list[str]:
    """``TES0101`` to ``TES0150`` → the 50 serials in between, zero-padding kept.

    Unpadded numbers may change length (``V98`` to ``V102``); zero-padded ones may not.

    :raises ValidationError: when the two do not share a prefix, the end is before the start,
        or the range is larger than a batch can be.
    """
    first, last = (first or "").strip(), (last or "").strip()
    start = _TRAILING_DIGITS.match(first)
    end = _TRAILING_DIGITS.match(last)
    last_field = "last_serial" if field == "first_serial" else field
    for typed, match, where in ((first, start, field), (last, end, last_field)):
        if not typed or not match:
            raise ValidationError(
                "Enter the first and last serial numbers, ending in digits",
                field=where,
            )
    for serial, where in ((first, field), (last, last_field)):
        if not SERIAL.fullmatch(serial):
            raise ValidationError(
                "Serial numbers may use only letters, digits, '-' and '/' (up to 64)",
                field=where,
            )
    prefix, low_digits = start.groups()
    end_prefix, high_digits = end.groups()
    padded = any(len(d) > 1 and d.startswith("0") for d in (low_digits, high_digits))
    if prefix != end_prefix or (padded and len(low_digits) != len(high_digits)):
        raise ValidationError(
            "The first and last serials must have the same letters and the same number of digits",
            field=field,
        )
    low, high = int(low_digits), int(high_digits)
    if high < low:
        raise ValidationError(
            "The last serial must come after the first", field="last_serial"
        )
    if high - low + 1 > MAX_BATCH:
        raise ValidationError(
            f"A batch can hold at most {MAX_BATCH:,} vouchers", field=field
        )
    width = len(low_digits) if padded else 1
    serials = [f"{prefix}{number:0{width}d}" for number in range(low, high + 1)]
    if any(len(serial) > 64 for serial in serials):
        raise ValidationError("Serial numbers can be up to 64 characters", field=field)
    return serials


def is_header(value: str) -> bool:
    """A first row such as ``Serial`` or ``Serial number``: no digits, so not a serial."""
    return not _DIGIT.search(value or "")


def without_header(values: list[str]) -> list[str]:
    """The values with a heading row dropped (a column copied from a spreadsheet)."""
    if values and is_header(values[0]):
        return values[1:]
    return values


def serials_from_text(text: str, *, field: str = "serials") -> list[str]:
    """Serials pasted one per line (commas, tabs and spaces also separate them).

    A first line with no digits at all (``Serial number``) is a heading and is skipped.
    """
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    lines = without_header(lines)
    return [part for line in lines for part in _SEPARATORS.split(line) if part]


def check_serials(serials: list[str], *, field: str) -> list[str]:
    """Refuse malformed or repeated serials; returns them unchanged when all is well.

    :raises ValidationError: naming the first few bad or repeated serials.
    """
    if not serials:
        raise ValidationError("Enter at least one serial number", field=field)
    if len(serials) > MAX_BATCH:
        raise ValidationError(
            f"A batch can hold at most {MAX_BATCH:,} vouchers", field=field
        )
    bad = [s for s in serials if not SERIAL.fullmatch(s)]
    if bad:
        shown = ", ".join(_shown(s) for s in bad[:3])
        raise ValidationError(
            f"Serial numbers may use only letters, digits, '-' and '/' (up to 64): {shown}",
            field=field,
        )
    seen: set[str] = set()
    repeated: list[str] = []
    for serial in serials:
        if serial in seen and serial not in repeated:
            repeated.append(serial)
        seen.add(serial)
    if repeated:
        raise ValidationError(
            f"These serial numbers appear more than once: {', '.join(repeated[:5])}",
            field=field,
        )
    return serials


def _shown(value: str) -> str:
    """A bad serial as it can safely be echoed: printable ASCII, at most 20 characters."""
    cleaned = "".join(c if c.isascii() and c.isprintable() else "?" for c in value)
    return f"‘{cleaned[:20]}{'…' if len(cleaned) > 20 else ''}’"
