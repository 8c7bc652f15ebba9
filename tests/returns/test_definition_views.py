"""Changing return definitions on the web: copy, change tables, preview, save versions,
export and import. Every write is checked in a fresh app context after the request."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import openpyxl
import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import DefinitionDraft, FunderReturn, ReturnDefinition, Role
from funds.returns.library import get_definition, read_file
from tests.conftest import audit_actions, count

PERIOD = "date_from=1&date_from=4&date_from=2023&date_to=31&date_to=3&date_to=2024"


@pytest.fixture
def manager(client, login, create_user):
    user_id = create_user(Role.MANAGER, name="Maria Manager")
    login(user_id)
    return user_id


def _draft(app) -> DefinitionDraft:
    with app.app_context():
        draft = db.session.scalars(select(DefinitionDraft)).one()
        db.session.expunge(draft)
        return draft


def _copy(client, key="hsf") -> int:
    response = client.post(f"/returns/definitions/{key}/copy")
    assert response.status_code == 302
    return int(re.search(r"/drafts/(\d+)", response.headers["Location"]).group(1))


class _Fields(HTMLParser):
    """The values a browser would send for a page's form fields."""

    def __init__(self):
        super().__init__()
        self.data: dict = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "y")
            else:
                self.data[name] = attrs.get("value", "")
        elif tag == "select":
            self._select = name
            self.data[name] = ""
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def _table_form(client, draft_id, sheet, table) -> dict:
    """The table's form as the page fills it (what a browser would send unchanged)."""
    page = client.get(
        f"/returns/definitions/drafts/{draft_id}/sheets/{sheet}/tables/{table}"
    )
    assert page.status_code == 200
    fields = _Fields()
    fields.feed(page.get_data(as_text=True))
    data = {k: v.strip() for k, v in fields.data.items() if k}
    data.pop("csrf_token", None)
    return data


def test_a_manager_copies_a_definition_into_a_draft(app, client, manager):
    page = client.get("/returns/definitions/")
    assert page.status_code == 200
    assert "Household Support Fund (DWP tabs)" in page.get_data(as_text=True)
    draft_id = _copy(client)
    draft = _draft(app)
    assert draft.id == draft_id
    assert draft.key == "hsf-copy" and draft.title == "Household Support Fund (copy)"
    assert draft.based_on == "hsf@1"
    assert audit_actions(app)[-1] == "definition.copy"
    body = client.get(f"/returns/definitions/drafts/{draft_id}").get_data(as_text=True)
    assert "Spend by HSF category and household group" in body
    assert "Save as version 1" in body


def test_a_table_is_changed_renamed_and_suppressed(app, client, manager):
    draft_id = _copy(client)
    data = _table_form(client, draft_id, 2, 3)  # "Households helped"
    data.update(
        {
            "title": "Families helped",
            "label_households": "Families (each once)",
            "suppress_below": "5",
        }
    )
    response = client.post(
        f"/returns/definitions/drafts/{draft_id}/sheets/2/tables/3", data=data
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    table = _draft(app).body["sheets"][1]["tables"][2]
    assert table["title"] == "Families helped"
    assert table["labels"] == {"households": "Families (each once)"}
    assert table["suppress_below"] == 5
    assert table["columns"] == "household_group"


def test_a_table_that_cannot_work_is_refused_and_the_draft_kept(app, client, manager):
    draft_id = _copy(client)
    before = _draft(app).body
    data = _table_form(client, draft_id, 2, 1)
    data["show_awards"] = "y"  # a second measure in a table with a column dimension
    data["position_awards"] = "2"
    response = client.post(
        f"/returns/definitions/drafts/{draft_id}/sheets/2/tables/1", data=data
    )
    assert response.status_code == 422
    assert "shows exactly one measure" in response.get_data(as_text=True)
    assert _draft(app).body == before


def test_tables_move_within_and_across_sheets(app, client, manager):
    draft_id = _copy(client, "hsf-dwp")
    url = f"/returns/definitions/drafts/{draft_id}/sheets"
    assert client.post(f"{url}/2/tables/3/move/up").status_code == 302
    titles = [t["title"] for t in _draft(app).body["sheets"][1]["tables"]]
    assert titles[1] == "Value of awards by delivery route"
    # Down past the end of "2 Spend": the table goes to the top of "3 Volumes".
    assert client.post(f"{url}/2/tables/3/move/down").status_code == 302
    sheets = _draft(app).body["sheets"]
    assert sheets[2]["tables"][0]["title"] == (
        "Total value of awards to households with a disabled person"
    )
    # The sign-off sheet has no tables: nothing is removed, and the page says so.
    refused = client.post(f"{url}/1/tables/1/remove")
    assert refused.status_code == 302
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "no longer in the draft" in page
    assert client.post(f"{url}/2/tables/1/remove").status_code == 302
    assert len(_draft(app).body["sheets"][1]["tables"]) == 1


def test_preview_shows_the_draft_figures_and_its_workbook(
    app, client, manager, hsf_year
):
    draft_id = _copy(client)
    query = f"grant={hsf_year['grant']}&{PERIOD}"
    page = client.get(f"/returns/definitions/drafts/{draft_id}/preview?{query}")
    assert page.status_code == 200
    assert "£520.50" in page.get_data(as_text=True)
    book = client.get(f"/returns/definitions/drafts/{draft_id}/preview.xlsx?{query}")
    assert book.status_code == 200
    sheets = openpyxl.load_workbook(io.BytesIO(book.data)).sheetnames
    assert sheets == ["Cover", "Summary", "Governance", "Transactions"]
    assert count(app, ReturnDefinition) == 0


def test_saving_makes_versions_that_returns_use_and_keep(
    app, client, manager, hsf_year
):
    draft_id = _copy(client)
    client.post(
        f"/returns/definitions/drafts/{draft_id}/details",
        data={"title": "C4C monitoring", "key": "c4c-monitoring", "description": ""},
    )
    assert (
        client.post(f"/returns/definitions/drafts/{draft_id}/save").status_code == 302
    )
    with app.app_context():
        saved = db.session.scalars(select(ReturnDefinition)).one()
        assert (saved.key, saved.version, saved.title) == (
            "c4c-monitoring",
            1,
            "C4C monitoring",
        )
        assert db.session.scalars(select(DefinitionDraft)).all() == []
    # It is offered on the returns page and builds a return.
    chooser = client.get("/returns/").get_data(as_text=True)
    assert 'value="c4c-monitoring"' in chooser
    query = f"grant={hsf_year['grant']}&template=c4c-monitoring&{PERIOD}"
    assert client.get(f"/returns/prepare?{query}").status_code == 200
    submitted = client.post(
        "/returns/submit",
        data={
            "grant": hsf_year["grant"],
            "template": "c4c-monitoring",
            "date_from": ["1", "4", "2023"],
            "date_to": ["31", "3", "2024"],
        },
    )
    assert submitted.status_code == 302
    # A second version changes a title; the submitted return keeps version 1.
    assert client.post("/returns/definitions/c4c-monitoring/edit").status_code == 302
    draft = _draft(app)
    data = _table_form(client, draft.id, 2, 1)
    data["title"] = "Spend (version 2)"
    client.post(f"/returns/definitions/drafts/{draft.id}/sheets/2/tables/1", data=data)
    client.post(f"/returns/definitions/drafts/{draft.id}/save")
    with app.app_context():
        assert get_definition("c4c-monitoring").version == 2
        kept = db.session.scalars(select(FunderReturn)).one()
        assert kept.definition_version == 1
        assert kept.definition["sheets"][1]["tables"][0]["title"] == (
            "Spend by HSF category and household group"
        )
        return_id = kept.id
    page = client.get(f"/returns/{return_id}").get_data(as_text=True)
    assert "exactly the same figures" in page and "version 1" in page


def test_export_and_import_a_definition_file(app, client, manager):
    exported = client.get("/returns/definitions/hsf/export.toml")
    assert exported.status_code == 200
    assert read_file(exported.data) == get_definition("hsf")
    response = client.post(
        "/returns/definitions/import",
        data={"file": (io.BytesIO(exported.data), "hsf.toml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    draft = _draft(app)
    assert draft.key == "hsf-2"  # a built-in's key is never taken over
    assert audit_actions(app)[-1] == "definition.import"


@pytest.mark.parametrize(
    "content,message",
    [
        (
            b'key = "x"\n[[sheets]]\nname = "A"\n[[sheets.tables]]\ntitle = "T"\nrows = "mnth"\nmeasures = ["net_spend"]\n',
            "unknown dimension “mnth”",
        ),
        (b"not = [toml", "not a TOML definition"),
        (b"", "Choose a definition file"),
    ],
)
def test_a_bad_file_is_refused_with_its_problems(
    app, client, manager, content, message
):
    data = {"file": (io.BytesIO(content), "bad.toml")} if content else {}
    response = client.post(
        "/returns/definitions/import", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, DefinitionDraft) == 0


def test_finance_reads_definitions_but_cannot_change_them(
    app, client, login, create_user
):
    login(create_user(Role.FINANCE))
    assert client.get("/returns/definitions/").status_code == 200
    assert client.get("/returns/definitions/crf").status_code == 200
    assert client.get("/returns/definitions/crf/export.toml").status_code == 200
    assert client.post("/returns/definitions/hsf/copy").status_code == 403
    assert count(app, DefinitionDraft) == 0


def test_built_in_definitions_cannot_be_changed_in_place(app, client, manager):
    response = client.post("/returns/definitions/hsf/edit")
    assert response.status_code == 302
    assert count(app, DefinitionDraft) == 0
    follow = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "copy it instead" in follow
    assert client.post("/returns/definitions/nope/copy").status_code == 404
