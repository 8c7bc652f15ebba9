"""Paths for many rows: the same path url_for builds, for every id."""

from __future__ import annotations

import pytest
from flask import url_for
from hypothesis import given, settings
from hypothesis import strategies as st

from funds.templating import id_path

ENDPOINTS = [
    ("disbursements.detail", "disbursement_id"),
    ("people.household", "household_id"),
    ("people.young_person", "young_person_id"),
    ("grants.detail", "grant_id"),
    ("grants.edit", "grant_id"),  # the id in the middle of the path
    ("grants.index", "grant_id"),  # no place for it: a query string, as url_for does
]


def test_an_id_path_is_the_path_url_for_builds(app):
    @settings(max_examples=200, deadline=None)
    @given(st.integers(min_value=1, max_value=2**63 - 1))
    def same_path(identifier):
        for endpoint, name in ENDPOINTS:
            path = id_path(endpoint, name)
            assert path(identifier) == url_for(endpoint, **{name: identifier})

    with app.test_request_context("/"):
        same_path()


def test_an_id_path_takes_only_whole_numbers(app):
    with app.test_request_context("/"):
        path = id_path("grants.detail", "grant_id")
        with pytest.raises(ValueError):
            path("1/../../admin")
