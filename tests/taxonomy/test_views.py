"""Funders, their categories and item mapping, spend categories and items, teams.

Every write is checked in a fresh app context after the request.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import (
    HSF_CATEGORIES,
    Funder,
    FunderCategory,
    ItemType,
    ItemTypeMapping,
    Role,
    SpendCategory,
    Team,
)
from tests.conftest import audit_actions, count


@pytest.fixture
def manager(create_user, login, item_id):
    item_id()  # the default taxonomy is loaded
    user_id = create_user(Role.MANAGER)
    login(user_id)
    return user_id


@pytest.fixture
def finance(create_user, login, item_id):
    item_id()
    user_id = create_user(Role.FINANCE)
    login(user_id)
    return user_id


def _page(response) -> str:
    return response.get_data(as_text=True)


def _categories(app, funder_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(FunderCategory.name)
                .where(FunderCategory.funder_id == funder_id)
                .order_by(FunderCategory.position)
            )
        )


def _mapping(app, funder_id: int) -> dict[str, str]:
    with app.app_context():
        return dict(
            db.session.execute(
                select(ItemType.name, FunderCategory.name)
                .join(ItemTypeMapping, ItemTypeMapping.item_type_id == ItemType.id)
                .join(
                    FunderCategory,
                    FunderCategory.id == ItemTypeMapping.funder_category_id,
                )
                .where(ItemTypeMapping.funder_id == funder_id)
            ).all()
        )


def _funder_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalars(select(Funder.id).where(Funder.name == name)).one()


# --- funders -------------------------------------------------------------------------


def test_the_funders_list_shows_counts(
    app, client, manager, create_funder, create_grant
):
    funder_id = create_funder("Connect4Communities")
    create_funder("OPCC", categories=["Staff", "Activities"], hsf_mapping=False)
    create_grant(funder_id=funder_id)
    html = re.sub(r"\s+", " ", _page(client.get("/funders")))
    assert re.search(
        r"Connect4Communities</a></td> <td[^>]*>7</td> <td[^>]*>10</td> <td[^>]*>1</td>",
        html,
    )
    assert re.search(
        r"OPCC</a></td> <td[^>]*>2</td> <td[^>]*>0</td> <td[^>]*>0</td>", html
    )
    assert 'href="/funders/new"' in html


def test_a_funder_with_the_hsf_categories_gets_the_default_mapping(
    app, client, manager
):
    response = client.post(
        "/funders/new",
        data={
            "name": "Connect4Communities",
            "use_hsf": "y",
            "categories": "Monitoring visits\n",
            "notes": "DWP money via the county council",
        },
    )
    assert response.status_code == 302
    funder_id = _funder_id(app, "Connect4Communities")
    assert response.headers["Location"] == f"/funders/{funder_id}"
    assert _categories(app, funder_id) == [*HSF_CATEGORIES, "Monitoring visits"]
    mapping = _mapping(app, funder_id)
    assert mapping["Food voucher"] == "Food"
    assert mapping["Washing machine"] == "Essentials linked to energy and water"
    assert mapping["Water bill"] == "Energy and water"
    assert mapping["Shoes"] == "Wider essentials"
    assert len(mapping) == 10
    with app.app_context():
        assert (
            db.session.get(Funder, funder_id).notes
            == "DWP money via the county council"
        )
    assert "funder.create" in audit_actions(app)


def test_a_funder_with_its_own_categories_has_no_mapping(app, client, manager):
    response = client.post(
        "/funders/new",
        data={
            "name": "Mental Health board",
            "categories": "Activities\n\n  Staff  \nactivities\n",
        },
    )
    assert response.status_code == 302
    funder_id = _funder_id(app, "Mental Health board")
    assert _categories(app, funder_id) == [
        "Activities",
        "Staff",
    ]  # blank and repeated lines dropped
    assert _mapping(app, funder_id) == {}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "X", "categories": ""},
            "Enter at least one return category, or use the Household Support Fund categories",
        ),
        ({"name": "", "use_hsf": "y"}, "Enter the funder&#39;s name"),
        (
            {"name": "X" * 121, "use_hsf": "y"},
            "Field cannot be longer than 120 characters.",
        ),
        (
            {"name": "Evil\u202eCorp", "use_hsf": "y"},
            "Remove the hidden text-direction characters",
        ),
        (
            {"name": "X", "categories": "Food\nEn\x0bergy"},
            "Remove the hidden control characters",
        ),
        (
            {"name": "X", "categories": "A" * 121},
            "Each category must be 120 characters or fewer",
        ),
        (
            {"name": "X", "categories": "\n".join(f"C{n}" for n in range(51))},
            "Enter 50 categories or fewer",
        ),
        (
            {"name": "connect4communities ", "use_hsf": "y"},
            "A funder with this name already exists",
        ),
    ],
)
def test_a_bad_funder_is_refused(app, client, manager, create_funder, data, message):
    create_funder("Connect4Communities")
    response = client.post("/funders/new", data=data)
    assert response.status_code == 422
    assert message in _page(response)
    assert count(app, Funder) == 1


def test_a_funder_page_shows_categories_and_the_mapping_form(
    app, client, manager, create_funder
):
    funder_id = create_funder("Connect4Communities")
    html = _page(client.get(f"/funders/{funder_id}"))
    for category in HSF_CATEGORIES:
        assert f"<li>{category}</li>" in html
    assert f'action="/funders/{funder_id}/mapping"' in html
    assert f'action="/funders/{funder_id}/categories"' in html
    with app.app_context():
        fridge = db.session.scalars(
            select(ItemType.id).where(ItemType.name == "Fridge")
        ).one()
        essentials = db.session.scalars(
            select(FunderCategory.id).where(
                FunderCategory.funder_id == funder_id,
                FunderCategory.name == "Essentials linked to energy and water",
            )
        ).one()
    select_html = html.split(f'name="item_{fridge}"', 1)[1].split("</select>", 1)[0]
    assert re.search(rf'value="{essentials}"\s+selected', select_html)
    assert "Not reported" in select_html


def test_finance_reads_a_funder_without_forms(app, client, finance, create_funder):
    funder_id = create_funder("Connect4Communities")
    response = client.get(f"/funders/{funder_id}")
    assert response.status_code == 200
    html = _page(response)
    assert "<select" not in html and '<form method="post" action="/funders' not in html
    assert "Essentials linked to energy and water" in html
    assert "Not reported" in html  # Kayaking has no HSF category
    assert 'href="/funders/new"' not in _page(client.get("/funders"))


def _mapping_form(app, funder_id: int, *, to=None, raw=None) -> dict:
    """The mapping form as the page posts it, with items moved ``to`` a category by
    name ("" for not reported), or set to a ``raw`` value."""
    with app.app_context():
        items = dict(db.session.execute(select(ItemType.name, ItemType.id)).all())
        categories = dict(
            db.session.execute(
                select(FunderCategory.name, FunderCategory.id).where(
                    FunderCategory.funder_id == funder_id
                )
            ).all()
        )
        current = dict(
            db.session.execute(
                select(
                    ItemTypeMapping.item_type_id, ItemTypeMapping.funder_category_id
                ).where(ItemTypeMapping.funder_id == funder_id)
            ).all()
        )
    form = {f"item_{i}": str(current.get(i, "")) for i in items.values()}
    for name, category in (to or {}).items():
        form[f"item_{items[name]}"] = str(categories[category]) if category else ""
    for name, value in (raw or {}).items():
        form[f"item_{items[name]}"] = value
    return form


def test_a_manager_changes_the_mapping_in_one_go(app, client, manager, create_funder):
    funder_id = create_funder("Connect4Communities")
    before = len(audit_actions(app))
    form = _mapping_form(
        app,
        funder_id,
        to={"Fridge": "Wider essentials", "Food voucher": "", "Kayaking": "Advice"},
    )
    response = client.post(f"/funders/{funder_id}/mapping", data=form)
    assert response.status_code == 302
    mapping = _mapping(app, funder_id)
    assert mapping["Fridge"] == "Wider essentials"
    assert "Food voucher" not in mapping
    assert mapping["Kayaking"] == "Advice"
    assert mapping["Cooker"] == "Essentials linked to energy and water"  # untouched
    assert audit_actions(app)[before:] == ["item_type.map"] * 3
    assert "3 items changed" in _page(client.get(f"/funders/{funder_id}"))


def test_saving_an_unchanged_mapping_changes_nothing(
    app, client, manager, create_funder
):
    funder_id = create_funder()
    before = len(audit_actions(app))
    response = client.post(
        f"/funders/{funder_id}/mapping", data=_mapping_form(app, funder_id)
    )
    assert response.status_code == 302
    assert len(audit_actions(app)) == before
    assert "Nothing was changed" in _page(client.get(f"/funders/{funder_id}"))


def test_a_mapping_to_another_funders_category_is_refused(
    app, client, manager, create_funder
):
    ours = create_funder("Ours")
    theirs = create_funder("Theirs")
    with app.app_context():
        foreign = db.session.scalars(
            select(FunderCategory.id).where(
                FunderCategory.funder_id == theirs, FunderCategory.name == "Advice"
            )
        ).one()
    for bad in (str(foreign), "abc", "99999999999999999999", "1 OR 1=1", "-1"):
        form = _mapping_form(
            app, ours, to={"Fridge": "Wider essentials"}, raw={"Kayaking": bad}
        )
        response = client.post(f"/funders/{ours}/mapping", data=form)
        assert response.status_code == 422, bad
        assert "Choose one of this funder&#39;s categories" in _page(response)
        mapping = _mapping(app, ours)
        assert mapping["Fridge"] == "Essentials linked to energy and water"  # not saved
        assert "Kayaking" not in mapping


def test_missing_selects_leave_their_items_alone(app, client, manager, create_funder):
    funder_id = create_funder()
    before = _mapping(app, funder_id)
    response = client.post(f"/funders/{funder_id}/mapping", data={})
    assert response.status_code == 302
    assert _mapping(app, funder_id) == before


def test_a_manager_adds_categories_to_a_funder(app, client, manager, create_funder):
    funder_id = create_funder("OPCC", categories=["Staff"], hsf_mapping=False)
    response = client.post(
        f"/funders/{funder_id}/categories",
        data={"categories": "Activities\nstaff\nTravel"},
    )
    assert response.status_code == 302
    assert _categories(app, funder_id) == ["Staff", "Activities", "Travel"]
    assert "funder.add_categories" in audit_actions(app)


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        ("", "Enter at least one category, one on each line"),
        ("STAFF\n", "These categories already exist"),
        ("Bad\x07", "Remove the hidden control characters"),
    ],
)
def test_bad_categories_are_refused(
    app, client, manager, create_funder, categories, message
):
    funder_id = create_funder("OPCC", categories=["Staff"], hsf_mapping=False)
    response = client.post(
        f"/funders/{funder_id}/categories", data={"categories": categories}
    )
    assert response.status_code == 422
    assert message in _page(response)
    assert _categories(app, funder_id) == ["Staff"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/funders/new"),
        ("post", "/funders/new"),
        ("post", "/funders/{id}/mapping"),
        ("post", "/funders/{id}/categories"),
        ("post", "/items"),
        ("post", "/items/categories"),
        ("post", "/items/{item}/active"),
        ("post", "/teams"),
    ],
)
def test_finance_cannot_change_the_catalogue(
    app, client, finance, create_funder, item_id, method, url
):
    funder_id = create_funder()
    response = getattr(client, method)(
        url.format(id=funder_id, item=item_id("Fridge")),
        data={"name": "X", "active": "0"},
    )
    assert response.status_code == 403
    assert count(app, Team) == 0
    with app.app_context():
        assert db.session.get(ItemType, item_id("Fridge")).active


@pytest.mark.parametrize("url", ["/funders", "/funders/1", "/items", "/teams"])
def test_staff_cannot_see_the_catalogue(client, create_user, login, create_funder, url):
    create_funder()
    login(create_user(Role.STAFF))
    assert client.get(url).status_code == 403


def test_an_unknown_funder_is_404(client, manager):
    assert client.get("/funders/999").status_code == 404
    assert client.post("/funders/999/mapping", data={}).status_code == 404


# --- spend categories and items --------------------------------------------------------


def test_the_items_page_lists_the_default_taxonomy(client, manager):
    html = _page(client.get("/items"))
    for name in (
        "White goods",
        "Washing machine",
        "Fridge",
        "Cooker",
        "Kayaking",
        "Steam train trip",
        "Staff costs",
    ):
        assert name in html
    assert 'action="/items"' in html and 'action="/items/categories"' in html
    assert "Retire<span" in html


def test_finance_reads_the_items_without_forms(client, finance):
    html = _page(client.get("/items"))
    assert "Fridge" in html
    assert "<form" not in html.split("</header>", 1)[1].replace(
        '<form method="post" action="/logout"', ""
    )


def test_a_manager_adds_a_category_and_an_item(app, client, manager):
    response = client.post(
        "/items/categories", data={"name": "Sports kit", "is_activity": "y"}
    )
    assert response.status_code == 302
    with app.app_context():
        category = db.session.scalars(
            select(SpendCategory).where(SpendCategory.name == "Sports kit")
        ).one()
        assert category.is_activity
        category_id = category.id
    assert response.headers["Location"] == f"/items#category-{category_id}"
    response = client.post(
        "/items", data={"category": str(category_id), "name": "Football boots"}
    )
    assert response.status_code == 302
    with app.app_context():
        item = db.session.scalars(
            select(ItemType).where(ItemType.name == "Football boots")
        ).one()
        assert (item.category_id, item.active) == (category_id, True)
    assert {"spend_category.create", "item_type.create"} <= set(audit_actions(app))
    no_activity = client.post("/items/categories", data={"name": "Bedding"})
    assert no_activity.status_code == 302
    with app.app_context():
        assert (
            not db.session.scalars(
                select(SpendCategory).where(SpendCategory.name == "Bedding")
            )
            .one()
            .is_activity
        )


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("/items/categories", {"name": ""}, "Enter the category&#39;s name"),
        ("/items/categories", {"name": "white GOODS"}, "This category already exists"),
        (
            "/items/categories",
            {"name": "Kit\x00"},
            "Remove the hidden control characters",
        ),
        ("/items", {"category": "", "name": "Kettle"}, "Choose a spend category"),
        (
            "/items",
            {"category": "{white_goods}", "name": "Kettle\ufffe"},
            "Remove the hidden special characters",
        ),
        (
            "/items",
            {"category": "{white_goods}", "name": "\uffffKettle"},
            "Remove the hidden special characters",
        ),
        (
            "/items",
            {"category": "abc", "name": "Kettle"},
            "Choose a spend category from the list",
        ),
        (
            "/items",
            {"category": "99999", "name": "Kettle"},
            "Choose a spend category from the list",
        ),
        (
            "/items",
            {"category": "{white_goods}", "name": "fridge"},
            "This item already exists in the category",
        ),
        (
            "/items",
            {"category": "{white_goods}", "name": ""},
            "Enter the item&#39;s name",
        ),
    ],
)
def test_bad_categories_and_items_are_refused(app, client, manager, url, data, message):
    with app.app_context():
        white_goods = db.session.scalars(
            select(SpendCategory.id).where(SpendCategory.name == "White goods")
        ).one()
    categories, items = count(app, SpendCategory), count(app, ItemType)
    data = {k: v.format(white_goods=white_goods) for k, v in data.items()}
    response = client.post(url, data=data)
    assert response.status_code == 422
    html = _page(response)
    assert "There is a problem" in html and message in html
    assert (count(app, SpendCategory), count(app, ItemType)) == (categories, items)


def test_a_manager_retires_and_restores_an_item(app, client, manager, item_id):
    fridge = item_id("Fridge")
    response = client.post(f"/items/{fridge}/active", data={"active": "0"})
    assert response.status_code == 302
    with app.app_context():
        assert not db.session.get(ItemType, fridge).active
    html = _page(client.get("/items"))
    assert "Fridge has been retired" in html
    assert 'Restore<span class="govuk-visually-hidden"> Fridge</span>' in html
    assert (
        client.post(f"/items/{fridge}/active", data={"active": "1"}).status_code == 302
    )
    with app.app_context():
        assert db.session.get(ItemType, fridge).active
    assert audit_actions(app).count("item_type.set_active") == 2


@pytest.mark.parametrize("active", ["", "yes", "2", None])
def test_a_bad_active_value_is_refused(app, client, manager, item_id, active):
    fridge = item_id("Fridge")
    data = {} if active is None else {"active": active}
    response = client.post(f"/items/{fridge}/active", data=data)
    assert response.status_code == 422
    assert "Choose whether to retire or restore the item" in _page(response)
    with app.app_context():
        assert db.session.get(ItemType, fridge).active


def test_an_unknown_item_is_404(client, manager):
    assert client.post("/items/99999/active", data={"active": "0"}).status_code == 404


# --- teams -----------------------------------------------------------------------------


def test_a_manager_adds_a_team(app, client, manager):
    response = client.post("/teams", data={"name": "  Young people's team "})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalars(select(Team.name)).all() == ["Young people's team"]
    assert "Young people&#39;s team" in _page(client.get("/teams"))
    assert "team.create" in audit_actions(app)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Enter the team&#39;s name"),
        ("families", "A team with this name already exists"),
        ("T" * 121, "Field cannot be longer than 120 characters."),
    ],
)
def test_a_bad_team_is_refused(app, client, manager, name, message):
    client.post("/teams", data={"name": "Families"})
    response = client.post("/teams", data={"name": name})
    assert response.status_code == 422
    assert message in _page(response)
    assert count(app, Team) == 1


def test_finance_reads_teams_without_the_form(app, client, finance):
    with app.app_context():
        db.session.add(Team(name="Families"))
        db.session.commit()
    html = _page(client.get("/teams"))
    assert "Families" in html and "Add a team" not in html


# --- how returns report to a funder ------------------------------------------------------


def _reporting_form(**changes) -> dict:
    data = {
        "group_first": "disabled",
        "group_second": "children",
        "group_third": "pensioner",
        "label_children": "Households with children",
        "label_pensioner": "Pensioner households",
        "label_disabled": "Households with a disabled person",
        "label_other": "Other households",
        "label_young_person": "Young people",
        "label_none": "Not for a household",
        "route_voucher": "Vouchers",
        "route_cash_out_voucher": "Cash",
        "route_bank_transfer": "Cash",
        "route_cash": "Cash",
        "route_direct_purchase": "In kind",
        "route_bill_payment": "Direct provision",
        "route_activity_place": "",
        "cash_first": "y",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_manager_sets_how_returns_report_to_a_funder(
    app, client, manager, create_funder
):
    funder_id = create_funder("Connect4Communities")
    page = _page(client.get(f"/funders/{funder_id}"))
    assert "Which group counts a household that is in several" in page
    response = client.post(f"/funders/{funder_id}/reporting", data=_reporting_form())
    assert response.status_code == 302
    with app.app_context():
        funder = db.session.get(Funder, funder_id)
        assert funder.household_group_order == ("disabled", "children", "pensioner")
        labels = funder.group_labels_with_defaults
        assert labels["pensioner"] == "Pensioner households"
        assert labels["none"] == "Not for a household"
        assert funder.delivery_routes_with_defaults["bank-transfer"] == "Cash"
        assert funder.delivery_routes_with_defaults["activity-place"] == ""
        assert funder.cash_first is True
    assert audit_actions(app)[-1] == "funder.reporting"


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"group_third": "children"}, "Choose each household group once"),
        ({"group_first": "teenagers"}, "Choose a household group from the list"),
        ({"label_other": "Households with children"}, "a different name"),
        ({"label_none": "Staff\ufffe"}, "special characters"),
        ({"route_cash": "x" * 121}, "120"),
    ],
)
def test_bad_reporting_settings_are_refused(
    app, client, manager, create_funder, changes, message
):
    funder_id = create_funder("Connect4Communities")
    audit_before = len(audit_actions(app))
    response = client.post(
        f"/funders/{funder_id}/reporting", data=_reporting_form(**changes)
    )
    assert response.status_code == 422
    assert message in _page(response)
    with app.app_context():
        funder = db.session.get(Funder, funder_id)
        assert funder.cash_first is False and funder.group_labels is None
    assert len(audit_actions(app)) == audit_before


def test_finance_reads_the_reporting_settings(client, finance, create_funder):
    funder_id = create_funder("Connect4Communities")
    page = _page(client.get(f"/funders/{funder_id}"))
    assert "Household group order" in page and "Save how returns report" not in page
    assert (
        client.post(
            f"/funders/{funder_id}/reporting", data=_reporting_form()
        ).status_code
        == 403
    )
