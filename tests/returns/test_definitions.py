"""Return definitions as data: reading and checking them, a made-up funder's definition from
a file checked against SQL written here, and the CLI."""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from funds.extensions import db
from funds.models import DeliveryMethod, Grant, ReturnDefinition, Role
from funds.returns.definition import (
    DefinitionError,
    definition_dict,
    parse_definition,
)
from funds.returns.library import (
    available,
    built_in_definitions,
    read_file,
    titles,
    to_toml,
)
from tests.returns.conftest import END, START
from tests.returns.spreadsheet import (
    assert_tables_match,
    needs_libreoffice,
    recalculate,
    sheets_calamine,
    sheets_openpyxl,
)
from tests.returns.test_workbooks import table

MADE_UP = """
key = "made-up-trust"
version = 3
title = "The Made-Up Trust"
description = "Spend by month and route, households by group, small numbers hidden"

[value_labels.household_group]
children = "Families"

[[sheets]]
name = "Made-up summary"

  [[sheets.tables]]
  title = "Spend by month and delivery route"
  rows = "month"
  columns = "delivery_route"
  measures = ["net_spend"]

  [[sheets.tables]]
  title = "Households helped by group"
  columns = "household_group"
  measures = ["households"]
  column_values = ["children", "pensioner", "disabled", "other"]

  [[sheets.tables]]
  title = "Awards by group, small numbers hidden"
  rows = "household_group"
  measures = ["awards", "households"]
  suppress_below = 5

[[sheets]]
name = "Sign it"
kind = "signoff"
"""


def test_every_built_in_definition_reads_back_from_its_own_file():
    for key, definition in built_in_definitions().items():
        again = read_file(to_toml(definition).encode("utf-8"))
        assert again == definition, key
        assert parse_definition(definition_dict(definition)) == definition


def _problems(data: dict) -> list[str]:
    with pytest.raises(DefinitionError) as error:
        parse_definition(data)
    return error.value.problems


def _with_table(**table) -> dict:
    base = tomllib.loads(MADE_UP)
    base["sheets"][0]["tables"][0].update(table)
    return base


@pytest.mark.parametrize(
    "change,message",
    [
        (
            _with_table(rows="mnth"),
            "unknown dimension “mnth” for the rows; choose from",
        ),
        (
            _with_table(measures=["sessions"]),
            "the dimension “delivery_route” does not apply to activity sessions",
        ),
        (
            _with_table(rows="gender", columns=None, measures=["households"]),
            "the measure “households” does not apply to a split by a person's age",
        ),
        (
            _with_table(rows="month", columns=None, measures=["budget"]),
            "the measure “budget” needs budget lines as the rows",
        ),
        (
            _with_table(measures=["net_spend", "awards"]),
            "a table with a column dimension shows exactly one measure",
        ),
        (
            _with_table(measures=["net_spend", "sessions"], columns=None),
            "its measures count different things",
        ),
        (_with_table(measures=["nett_spend"]), "unknown measure “nett_spend”"),
        (_with_table(suppress_below=-1), "suppress_below must be from 0 to 100"),
        (_with_table(title="Spend\ufffe"), "special characters"),
    ],
)
def test_a_table_that_cannot_work_is_refused_with_a_clear_reason(change, message):
    problems = _problems(change)
    assert any(message in p for p in problems), problems


def test_sheet_names_follow_excel_rules():
    data = tomllib.loads(MADE_UP)
    data["sheets"][1]["name"] = "made-up SUMMARY"
    assert any("two sheets are called" in p for p in _problems(data))
    data["sheets"][1]["name"] = "A sheet name that is far too long for Excel"
    assert any("Excel allows at most 31" in p for p in _problems(data))
    data["sheets"][1]["name"] = "What? No"
    assert any("cannot contain" in p for p in _problems(data))
    data["sheets"][1]["name"] = "Transactions"
    assert any("kept for funds' own sheets" in p for p in _problems(data))


def test_every_problem_is_reported_at_once():
    data = tomllib.loads(MADE_UP)
    data["key"] = "Bad Key!"
    data["sheets"][0]["tables"][0]["rows"] = "nowhere"
    data["sheets"][0]["tables"][1]["measures"] = ["nothing"]
    problems = _problems(data)
    assert len(problems) >= 3
    assert any("key must be" in p for p in problems)


def test_a_file_that_is_not_a_definition_is_refused():
    for content, message in (
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"key = [", "not a TOML definition"),
        (b"x" * 300_000, "larger than"),
    ):
        with pytest.raises(DefinitionError) as error:
            read_file(content)
        assert message in error.value.problems[0]


# --- a made-up funder's definition, checked against SQL written here -------------------------------


@pytest.fixture
def made_up_year(hsf_year, create_disbursement, create_household):
    """More households, so that some counts are 5 or more and some are not."""
    for number in range(6):
        household = create_household(children=1, has_children=True)
        create_disbursement(
            hsf_year["grant"],
            f"{10 + number}.00",
            household_id=household,
            awarded_on=date(2023, 8, 1 + number),
            delivery_method=DeliveryMethod.BANK_TRANSFER,
        )
    return hsf_year


MONTH = "substr(CAST(awarded_on AS TEXT), 1, 7)"
GROUP = (
    "CASE WHEN h.has_children THEN 'children' WHEN h.has_disabled_person THEN 'disabled'"
    " WHEN h.has_pensioner THEN 'pensioner' ELSE 'other' END"
)


def _sql(statement: str, grant_id: int) -> list:
    return db.session.execute(
        text(statement), {"grant": grant_id, "first": START, "last": END}
    ).all()


def test_a_made_up_definition_from_a_file_matches_sql(app, made_up_year, build):
    definition = read_file(MADE_UP.encode())
    built = build(made_up_year["grant"], definition)
    with app.app_context():
        grant = db.session.get(Grant, made_up_year["grant"])
        routes = grant.funder.delivery_routes_with_defaults
        where = "WHERE d.grant_id = :grant AND d.awarded_on BETWEEN :first AND :last"
        spend: dict = {}
        for month, method, pence in _sql(
            f"SELECT {MONTH}, delivery_method, SUM(amount_pence) FROM disbursements d "
            f"{where} GROUP BY {MONTH}, delivery_method",
            grant.id,
        ):
            key = (month, routes[method] or "Not mapped")
            spend[key] = spend.get(key, 0) + pence
        households = dict(
            _sql(
                f"SELECT grp, COUNT(*) FROM (SELECT d.household_id, {GROUP} AS grp "
                f"FROM disbursements d JOIN households h ON h.id = d.household_id "
                f"{where} GROUP BY d.household_id, {GROUP} "
                "HAVING SUM(d.amount_pence) > 0) helped GROUP BY grp",
                grant.id,
            )
        )
        awards = dict(
            _sql(
                f"SELECT {GROUP}, SUM(CASE WHEN reverses_id IS NULL THEN 1 ELSE -1 END) "
                f"FROM disbursements d JOIN households h ON h.id = d.household_id "
                f"{where} GROUP BY {GROUP}",
                grant.id,
            )
        )

    by_month = table(built, "Spend by month and delivery route")
    columns = next(
        t["heading"]
        for t in built.figures.plain["tables"]
        if t["title"] == "Spend by month and delivery route"
    )[1:-1]
    for (month, route), pence in spend.items():
        label = date(int(month[:4]), int(month[5:]), 1).strftime("%b %Y")
        assert Decimal(by_month[label][columns.index(route)]) == Decimal(pence) / 100
    total = sum(spend.values())
    assert Decimal(by_month["Total"][-1]) == Decimal(total) / 100

    helped = table(built, "Households helped by group")["Households helped"]
    assert helped == [
        households.get(g, 0) for g in ("children", "pensioner", "disabled", "other")
    ] + [sum(households.values())]
    assert households["children"] >= 5

    hidden = table(built, "Awards by group, small numbers hidden")
    for group, label in (
        ("children", "Families"),
        ("pensioner", "With a pensioner"),
        ("other", "Other households"),
    ):
        expected = awards.get(group, 0)
        shown = hidden[label][0]
        assert shown == ("<5" if 0 < expected < 5 else expected), (group, shown)
    assert hidden["Families"][1] == households["children"]


@needs_libreoffice
def test_a_made_up_definition_reads_the_same_everywhere(made_up_year, build, tmp_path):
    built = build(made_up_year["grant"], read_file(MADE_UP.encode()))
    plain = built.figures.plain
    assert_tables_match(plain, sheets_calamine(built.workbook), "stored")
    recalculated = recalculate(built.workbook, tmp_path, "made-up")
    assert_tables_match(plain, sheets_openpyxl(recalculated), "LibreOffice")


def test_the_cli_lists_definitions_and_builds_from_a_file(
    app, runner, made_up_year, tmp_path
):
    listed = runner.invoke(args=["return", "templates"])
    assert listed.exit_code == 0
    assert "hsf\t1\tHousehold Support Fund\t(built-in)" in listed.output
    assert "crf\t1\tCrisis and Resilience Fund" in listed.output
    source = tmp_path / "made-up.toml"
    source.write_text(MADE_UP)
    out = tmp_path / "made-up.xlsx"
    args = ["return", "build", "--grant", "C4C-HSF4", "--from", "2023-04-01"]
    args += ["--to", "2024-03-31", "--out", str(out)]
    result = runner.invoke(args=[*args, "--definition", str(source)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"
    source.write_text(MADE_UP.replace('rows = "month"', 'rows = "mnth"'))
    bad = runner.invoke(args=[*args, "--definition", str(source)])
    assert bad.exit_code != 0 and "unknown dimension “mnth”" in bad.output
    unknown = runner.invoke(args=[*args, "--template", "nope"])
    assert unknown.exit_code != 0 and "No return definition 'nope'" in unknown.output


def test_the_titles_are_those_of_the_definitions_offered_in_their_order(
    app, create_user
):
    """The evidence pack's choice of return names what the returns page offers: every
    built-in definition, then each saved definition's latest version, by title."""
    author = create_user(Role.MANAGER)
    saved = [
        ("zeta", 1, "A <b>*?~</b> return \ufffe"),
        ("zeta", 2, "Zeta, second version"),
        ("alpha", 1, "=SUM(A1) & more"),
    ]
    with app.app_context():
        for key, version, title in saved:
            db.session.add(
                ReturnDefinition(
                    key=key,
                    version=version,
                    title=title,
                    body={"description": f"about {title}"},
                    created_by_id=author,
                )
            )
        db.session.commit()
    with app.app_context():
        offered = available()
        assert titles() == [(item.key, item.title) for item in offered]
        assert [(item.key, item.version) for item in offered if not item.built_in] == [
            ("alpha", 1),
            ("zeta", 2),
        ]
        assert len(offered) == len(built_in_definitions()) + 2
