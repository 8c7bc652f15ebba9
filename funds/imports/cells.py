"""Reading one cell of an imported spreadsheet as the value a form would take, under the
same rules (money through funds.money, text through funds.validators): a cell that a form
would refuse is refused with the form's words, never guessed at."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from funds.money import MoneyError, parse_money
from funds.spreadsheets import Cell
from funds.validators import text_problem


class CellError(ValueError):
    """Why a cell cannot be imported, in words for the person fixing the file."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


#: Excel's day 0 (its serial numbers count days from here, 1900 date system).
EXCEL_EPOCH = date(1899, 12, 30)
#: Serial numbers read as dates only in this range (1 Jan 2000 to 31 Dec 2099).
SERIAL_RANGE = (36526, 73415)
_DMY = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})", re.ASCII)
_YMD = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", re.ASCII)
_WHOLE = re.compile(r"[0-9]{1,9}", re.ASCII)


def blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def shown(cell: Cell) -> str:
    """A cell as the person sees it, for messages and the errors file."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return (
            cell.strftime("%d/%m/%Y %H:%M")
            if cell.time() != time()
            else f"{cell:%d/%m/%Y}"
        )
    if isinstance(cell, date):
        return f"{cell:%d/%m/%Y}"
    return str(cell)


def text(cell: Cell, *, max_length: int = 120, multiline: bool = False) -> str | None:
    """Text as typed (numbers as written, so 1001 stays "1001"); None when empty."""
    if blank(cell):
        return None
    if isinstance(cell, bool) or isinstance(cell, (date, time, timedelta)):
        raise CellError("Enter text here, not a date or TRUE/FALSE")
    value = shown(cell).strip() if not isinstance(cell, str) else cell.strip()
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise CellError(problem)
    if len(value) > max_length:
        raise CellError(f"Enter {max_length} characters or fewer")
    return value


def money(cell: Cell) -> Decimal | None:
    """An amount in pounds: 12.5, "£1,234.50"; never "1.234,50" or three decimal places."""
    if blank(cell):
        return None
    if isinstance(cell, bool) or isinstance(cell, (date, time, timedelta)):
        raise CellError("Enter an amount in pounds and pence, like 12.50")
    if isinstance(cell, float):
        typed = repr(
            cell
        )  # the shortest text that is this number: 12.34, not 12.3399...
        if "e" in typed.lower():
            raise CellError("Enter an amount in pounds and pence, like 12.50")
    else:
        typed = str(cell)
    try:
        return parse_money(typed)
    except MoneyError as error:
        raise CellError(
            str(error.message if hasattr(error, "message") else error)
        ) from error


def day(cell: Cell) -> date | None:
    """A date: a date cell, 27/03/2024 (day first, as in the UK), 2024-03-27, or Excel's
    serial number for a day this century."""
    if blank(cell):
        return None
    if isinstance(cell, bool):
        raise CellError("Enter a date like 27/03/2024")
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, (int, float)):
        # An Excel day number (a count of days, never money): whole, and this century.
        whole = isinstance(cell, int) or cell.is_integer()
        if whole and SERIAL_RANGE[0] <= cell <= SERIAL_RANGE[1]:
            return EXCEL_EPOCH + timedelta(days=int(cell))
        raise CellError("Enter a date like 27/03/2024")
    if isinstance(cell, str):
        typed = cell.strip()
        try:
            if match := _DMY.fullmatch(typed):
                return date(int(match[3]), int(match[2]), int(match[1]))
            if match := _YMD.fullmatch(typed):
                return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError as error:
            raise CellError(f"{typed} is not a real date") from error
    raise CellError("Enter a date like 27/03/2024 (day, month, year in full)")


def whole(cell: Cell, *, low: int = 0, high: int = 1_000_000) -> int | None:
    """A whole number from ``low`` to ``high``."""
    if blank(cell):
        return None
    number = None
    if isinstance(cell, bool):
        number = None
    elif isinstance(cell, int):
        number = cell
    elif isinstance(cell, float) and cell.is_integer():
        number = int(cell)
    elif isinstance(cell, str) and _WHOLE.fullmatch(cell.strip()):
        number = int(cell.strip())
    if number is None or not low <= number <= high:
        raise CellError(
            f"Enter a whole number from {low:,} to {high:,} using the digits 0 to 9"
        )
    return number


_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def yes_no(cell: Cell) -> bool | None:
    if blank(cell):
        return None
    if isinstance(cell, bool):
        return cell
    typed = shown(cell).strip().lower()
    if typed in _YES:
        return True
    if typed in _NO:
        return False
    raise CellError("Enter Yes or No")


def choice(cell: Cell, options: dict[str, object], *, what: str):
    """One of ``options`` by its name or label, ignoring case and spaces around it."""
    if blank(cell):
        return None
    typed = " ".join(shown(cell).split()).lower()
    if typed in options:
        return options[typed]
    listed = sorted({str(getattr(v, "label", v)) for v in options.values()})
    shown_list = ", ".join(listed[:8]) + (" …" if len(listed) > 8 else "")
    raise CellError(f"Choose {what} from: {shown_list}")


def enum_options(enum_class) -> dict[str, object]:
    """Each member by its value and its label, lower-cased."""
    options: dict[str, object] = {}
    for member in enum_class:
        options[member.value.lower()] = member
        options[member.value.replace("-", " ").lower()] = member
        label = getattr(member, "label", None)
        if label:
            options[" ".join(label.split()).lower()] = member
    return options
