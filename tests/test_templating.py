"""The templates' helpers and layout: paths for many rows (the same path url_for builds,
for every id), and the header, drawn once, with the menu and the sign-out form."""

from __future__ import annotations

import re

import pytest
from flask import url_for
from hypothesis import given, settings
from hypothesis import strategies as st

from funds.models import Role
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


@pytest.mark.parametrize("path", ["/", "/grants/", "/awards/new"])
def test_the_header_is_drawn_once_with_the_menu_and_sign_out(
    client, login, create_user, path
):
    login(create_user(Role.MANAGER, name="Maria <Manager>"))
    page = client.get(path).get_data(as_text=True)
    header = page.split('<header class="govuk-template__header">')
    assert len(header) == 2, "one header"
    inside, after = header[1].split("</header>", 1)
    assert page.count("govuk-service-navigation__wrapper") == 1
    assert inside.count('aria-label="Menu"') == 1
    assert inside.count("Maria &lt;Manager&gt;") == 1
    assert "Maria <Manager>" not in page
    sign_out = re.findall(
        r'<form method="post" action="/logout"[^>]*>\s*'
        r'<input type="hidden" name="csrf_token" value="[^"]+">',
        inside,
    )
    assert len(sign_out) == 1 and 'action="/logout"' not in after
    assert '<main class="govuk-main-wrapper' in after


def test_signed_out_the_header_has_no_menu_and_no_sign_out(client, create_user):
    create_user(Role.ADMIN)  # else the first visit is the first run's set-up page
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in" in page
    assert page.count('<header class="govuk-template__header">') == 1
    assert "govuk-service-navigation__item" not in page and "/logout" not in page
