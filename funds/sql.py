"""Portable SQL expressions that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class age_in_years(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """Whole years between a birth date and another date: ``age_in_years(born, on)``."""

    type = Integer()
    inherit_cache = True
    name = "age_in_years"


@compiles(age_in_years, "sqlite")
def _age_sqlite(element, compiler, **kw):
    born, on = (compiler.process(arg, **kw) for arg in element.clauses)
    return (
        f"(CAST(strftime('%Y', {on}) AS INTEGER) - CAST(strftime('%Y', {born}) AS INTEGER)"
        f" - (strftime('%m-%d', {on}) < strftime('%m-%d', {born})))"
    )


@compiles(age_in_years, "postgresql")
def _age_postgresql(element, compiler, **kw):
    born, on = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(date_part('year', age({on}, {born})) AS INTEGER)"


class year_month(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """``'2023-04'`` for a date: the calendar month a ledger line falls in."""

    type = String()
    inherit_cache = True
    name = "year_month"


@compiles(year_month, "sqlite")
def _year_month_sqlite(element, compiler, **kw):
    (day,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"strftime('%Y-%m', {day})"


@compiles(year_month, "postgresql")
def _year_month_postgresql(element, compiler, **kw):
    (day,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"to_char({day}, 'YYYY-MM')"


class financial_quarter(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """``'2023-Q1'`` for a date: the UK financial year it starts (April) and its quarter."""

    type = String()
    inherit_cache = True
    name = "financial_quarter"


@compiles(financial_quarter, "sqlite")
def _quarter_sqlite(element, compiler, **kw):
    (day,) = (compiler.process(arg, **kw) for arg in element.clauses)
    month = f"CAST(strftime('%m', {day}) AS INTEGER)"
    year = f"CAST(strftime('%Y', {day}) AS INTEGER)"
    return (
        f"((CASE WHEN {month} >= 4 THEN {year} ELSE {year} - 1 END) || '-Q' || "
        f"(({month} + 8) % 12 / 3 + 1))"
    )


@compiles(financial_quarter, "postgresql")
def _quarter_postgresql(element, compiler, **kw):
    (day,) = (compiler.process(arg, **kw) for arg in element.clauses)
    month = f"CAST(EXTRACT(MONTH FROM {day}) AS INTEGER)"
    year = f"CAST(EXTRACT(YEAR FROM {day}) AS INTEGER)"
    return (
        f"(CAST(CASE WHEN {month} >= 4 THEN {year} ELSE {year} - 1 END AS TEXT) || '-Q' || "
        f"CAST(({month} + 8) % 12 / 3 + 1 AS TEXT))"
    )


class days_between(FunctionElement):  # noqa: N801 - reads like the SQL function it is
    """Whole days from one date to a later one: ``days_between(later, earlier)``."""

    type = Integer()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "sqlite")
def _days_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


@compiles(days_between, "postgresql")
def _days_postgresql(element, compiler, **kw):
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"({later} - {earlier})"
