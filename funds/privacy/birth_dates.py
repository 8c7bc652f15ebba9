"""Coarsening a date of birth without changing any age funds has counted."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date


def age_on(born: date, day: date) -> int:
    """Whole years from ``born`` to ``day`` (the rule every return's age bands use)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def anonymised_birth_date(born: date, counted_on: Iterable[date]) -> date:
    """The date of birth an erasure keeps: the same year and month, and the smallest day
    that leaves the age on every date in ``counted_on`` unchanged.

    Moving the day earlier only changes an age on a date in the birth month that falls
    between the new day and the real birthday, so the answer is the day after the latest
    such date (or the 1st when there is none).
    """
    smallest = 1
    for day in counted_on:
        if day.month == born.month and day.day < born.day:
            smallest = max(smallest, day.day + 1)
    return born.replace(day=smallest)
