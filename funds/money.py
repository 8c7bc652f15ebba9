"""Money: integer pence in the database, Decimal in Python, strict parsing of what people type."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import BigInteger, CheckConstraint, func, type_coerce
from sqlalchemy.types import TypeDecorator

PENNY = Decimal("0.01")
#: The largest amount any field accepts: £999,999,999.99 (fits easily in a BigInteger).
MAX_AMOUNT = Decimal("999999999.99")

# ASCII digits only (re.ASCII makes \d mean [0-9]); optional £; either plain digits or
# correctly grouped thousands; at most two decimal places. Anything else is refused.
_AMOUNT_RE = re.compile(
    r"£?(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<frac>[0-9]+))?",
    re.ASCII,
)


class MoneyError(ValueError):
    """Raised when an amount cannot be accepted; the message is written for the user."""


def parse_money(
    text: str | None,
    *,
    minimum: Decimal = PENNY,
    maximum: Decimal = MAX_AMOUNT,
) -> Decimal:
    """Parse an amount typed in pounds (``12``, ``12.5``, ``£1,250.00``) into a Decimal.

    :raises MoneyError: for anything that is not plainly an amount of money in range,
        with a message that says what to type instead.
    """
    raw = (text or "").strip()
    if not raw:
        raise MoneyError("Enter an amount")
    if raw.startswith("-") or raw.startswith("£-") or raw.startswith("−"):
        raise MoneyError(
            "Enter an amount without a minus sign; amounts cannot be negative"
        )
    match = _AMOUNT_RE.fullmatch(raw)
    if match is None:
        raise MoneyError(
            "Enter an amount in pounds and pence using the digits 0 to 9, like 12.50"
        )
    frac = match.group("frac")
    if frac is not None and len(frac) > 2:
        raise MoneyError(
            "Enter an amount with no more than 2 decimal places, like 12.50"
        )
    whole = match.group("whole").replace(",", "")
    if len(whole) > 12:
        raise MoneyError(f"Enter an amount of {format_money(maximum)} or less")
    value = Decimal(f"{whole}.{frac or '0'}").quantize(PENNY)
    if value < minimum:
        if minimum == PENNY:
            raise MoneyError("Enter an amount of £0.01 or more")
        raise MoneyError(f"Enter an amount of {format_money(minimum)} or more")
    if value > maximum:
        raise MoneyError(f"Enter an amount of {format_money(maximum)} or less")
    return value


def to_pence(amount: Decimal) -> int:
    """Convert a Decimal amount of pounds to integer pence, refusing fractions of a penny."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError("money must be a finite amount")
    pence = amount * 100
    if pence != pence.to_integral_value():
        raise ValueError(f"{amount} has a fraction of a penny")
    return int(pence)


def from_pence(pence: int) -> Decimal:
    """Convert integer pence to a Decimal amount of pounds with two places."""
    return (Decimal(int(pence)) / 100).quantize(PENNY)


def format_money(amount: Decimal | int | None, *, symbol: str = "£") -> str:
    """Format a Decimal amount as ``£1,234.56`` (``-£12.00`` when negative)."""
    if amount is None:
        return ""
    if isinstance(amount, int):
        amount = Decimal(amount)
    value = amount.quantize(PENNY)
    sign = "-" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,.2f}"


class Money(TypeDecorator):
    """A column of integer pence that gives and takes ``Decimal`` pounds."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return to_pence(value)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return from_pence(value)

    @property
    def python_type(self):
        return Decimal


def integer_check(column: str, name: str | None = None) -> CheckConstraint:
    """A CHECK that the stored value is a whole number.

    SQLite's INTEGER affinity would otherwise keep ``12.5`` as a REAL; on PostgreSQL the
    column type already guarantees it, so the same expression is harmless there.
    """
    return CheckConstraint(
        f"{column} = CAST({column} AS BIGINT)", name=name or f"{column}_whole"
    )


def money_checks(column: str, *, positive: bool = False, non_negative: bool = False):
    """The CHECK constraints a money column carries: whole pence, and its sign rule."""
    checks = [integer_check(column)]
    if positive:
        checks.append(CheckConstraint(f"{column} > 0", name=f"{column}_positive"))
    if non_negative:
        checks.append(CheckConstraint(f"{column} >= 0", name=f"{column}_not_negative"))
    return checks


def decimal_or_none(value: object) -> Decimal | None:
    """Turn a SQL aggregate result (int pence or None) into a Decimal amount."""
    if value is None:
        return None
    try:
        return from_pence(int(value))
    except (
        TypeError,
        ValueError,
        InvalidOperation,
    ) as exc:  # pragma: no cover - defensive
        raise ValueError(f"not an amount in pence: {value!r}") from exc


def pence_sum(column):
    """``COALESCE(SUM(column), 0)`` as plain integer pence (not converted to pounds)."""
    return func.coalesce(func.sum(type_coerce(column, BigInteger)), 0)


def pence_of(column):
    """A money column as plain integer pence, for arithmetic inside SQL."""
    return type_coerce(column, BigInteger)
