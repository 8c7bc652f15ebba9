"""Portable SQL expressions that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Integer
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
