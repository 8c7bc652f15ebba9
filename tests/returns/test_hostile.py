"""Returns over hostile ledgers: every figure agrees to the penny on the page (SQL), in the
value each formula stores, and after LibreOffice recalculates the workbook.

Hostile: category names with ``* ? ~ = < >`` and spaces at either end, lines with no
beneficiary, young people on a household grant, reversals across periods, empty periods,
text a workbook cannot hold already in the database.

``FUNDS_HYPOTHESIS_FULL=1`` runs more examples.
"""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from funds.admin.services import create_user
from funds.disbursements.services import (
    AwardInput,
    record_disbursement,
    reverse_disbursement,
)
from funds.extensions import db
from funds.grants.services import create_grant
from funds.models import (
    AccessRoute,
    DeliveryMethod,
    Funder,
    FunderCategory,
    Grant,
    ItemType,
    ItemTypeMapping,
    Role,
    User,
)
from funds.organisation import Organisation
from funds.people.services import (
    HouseholdInput,
    YoungPersonInput,
    create_household,
    create_young_person,
)
from funds.returns.library import get_definition
from funds.returns.services import build_return
from funds.taxonomy.defaults import ensure_default_taxonomy
from tests.conftest import PASSWORD, TODAY, reset_database
from tests.returns.spreadsheet import (
    SOFFICE,
    _soffice,
    assert_tables_match,
    needs_libreoffice,
    sheets_calamine,
    sheets_openpyxl,
)
from tests.returns.test_workbooks import table

START, END = date(2023, 4, 1), date(2024, 3, 31)
ITEMS = ("Food voucher", "Fridge", "Gas bill", "Shoes", "Salary", "Kayaking")
SPEND = "Spend by HSF category and household group"
FULL = os.environ.get("FUNDS_HYPOTHESIS_FULL") == "1"


@dataclass
class Ledger:
    grant: int
    beneficiaries: dict


def seed(app, categories: list[str], mapping: dict[str, int | None]) -> Ledger:
    """A funder with these category names (as stored, spaces and all), the items mapped
    to them, a large grant, three households and two young people (one in a household)."""
    with app.app_context():
        ensure_default_taxonomy()
        manager, _ = create_user(
            actor=None,
            email="maria@example.org",
            name="Maria Manager",
            role=Role.MANAGER,
            password=PASSWORD,
        )
        funder = Funder(name="Hostile funder")
        db.session.add(funder)
        db.session.flush()
        ids = []
        for position, name in enumerate(categories):
            category = FunderCategory(funder_id=funder.id, name=name, position=position)
            db.session.add(category)
            db.session.flush()
            ids.append(category.id)
        for item, index in mapping.items():
            if index is not None:
                db.session.add(
                    ItemTypeMapping(
                        item_type_id=db.session.scalar(
                            select(ItemType.id).where(ItemType.name == item)
                        ),
                        funder_id=funder.id,
                        funder_category_id=ids[index],
                    )
                )
        grant = create_grant(
            actor=manager,
            reference="HOSTILE-1",
            title="A grant",
            funder_id=funder.id,
            total=Decimal("1000000.00"),
            starts_on=START,
            ends_on=END,
            max_award=Decimal("1000000.00"),
        )
        both = create_household(
            HouseholdInput(children=2, has_children=True, has_disabled_person=True),
            actor=manager,
        )
        pensioner = create_household(
            HouseholdInput(has_pensioner=True, has_care_leaver=True), actor=manager
        )
        other = create_household(HouseholdInput(adults=2), actor=manager)
        young = create_young_person(
            YoungPersonInput(household_id=both.id), actor=manager, today=TODAY
        )
        alone = create_young_person(YoungPersonInput(), actor=manager, today=TODAY)
        db.session.commit()
        return Ledger(
            grant.id,
            {
                "h-both": ("household", both.id),
                "h-pensioner": ("household", pensioner.id),
                "h-other": ("household", other.id),
                "y-in-household": ("young_person", young.id),
                "y-alone": ("young_person", alone.id),
                None: (None, None),
            },
        )


def record(app, ledger: Ledger, awards: list[tuple]) -> None:
    """Record each award (and its reversal, if any) through the ledger's services."""
    with app.app_context():
        manager = db.session.scalars(select(User)).first()
        items = dict(db.session.execute(select(ItemType.name, ItemType.id)).all())
        for item, pence, who, day, method, route, reversed_after in awards:
            kind, ident = ledger.beneficiaries[who]
            line = record_disbursement(
                AwardInput(
                    grant_id=ledger.grant,
                    item_type_id=items[item],
                    amount=Decimal(pence).scaleb(-2),
                    awarded_on=START + timedelta(days=day),
                    delivery_method=method,
                    access_route=route if kind else AccessRoute.NOT_APPLICABLE,
                    household_id=ident if kind == "household" else None,
                    young_person_id=ident if kind == "young_person" else None,
                ),
                actor=manager,
                today=TODAY,
            )
            if reversed_after is not None:
                on = line.awarded_on + timedelta(days=reversed_after)
                if on <= END:
                    reverse_disbursement(
                        line,
                        actor=manager,
                        reason="Mistake",
                        reversed_on=on,
                        today=TODAY,
                    )
        db.session.commit()


def build(app, grant_id: int, key: str, date_from=START, date_to=END):
    with app.app_context():
        return build_return(
            db.session.get(Grant, grant_id),
            definition=get_definition(key),
            date_from=date_from,
            date_to=date_to,
            prepared_by="Maria Manager",
            prepared_on=TODAY,
            organisation=Organisation(name="Riverside Youth Project"),
        )


def check_built(built) -> None:
    """Stored values equal the page; the HSF grid's total equals every ledger line."""
    plain = built.figures.plain
    assert_tables_match(plain, sheets_openpyxl(built.workbook), "stored (openpyxl)")
    assert_tables_match(plain, sheets_calamine(built.workbook), "stored (calamine)")
    cover = openpyxl.load_workbook(io.BytesIO(built.workbook))["Cover"]
    checksums = [
        r[1] for r in cover.iter_rows(values_only=True) if r[0] and "Checksum" in r[0]
    ]
    assert checksums == [built.checksum]
    if built.figures.definition.key == "hsf":
        spend = table(built, SPEND)
        assert spend["Total"][-1] == spend["Check: all lines in the period"][-1]
        assert Decimal(spend["Difference (should be 0)"][-1]) == 0


def recalculate_all(workbooks: dict[str, bytes], folder) -> dict[str, dict]:
    """LibreOffice recalculates several workbooks in one run (it starts slowly)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for name, content in workbooks.items():
        path = folder / f"{name}.xlsx"
        path.write_bytes(content)
        sources.append(path)
    out = folder / "recalculated"
    _soffice_many(sources, out, folder / "profile")
    result = {}
    for name in workbooks:
        path = out / f"{name}.xlsx"
        assert path.exists(), f"LibreOffice did not recalculate {name}"
        result[name] = sheets_openpyxl(path)
    return result


def _soffice_many(sources, out, profile) -> None:
    first, *rest = sources
    if not rest:
        _soffice(first, "xlsx", out, profile)
        return
    import subprocess

    _soffice(first, "xlsx", out, profile)  # writes the recalculating profile
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            *[str(s) for s in rest],
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


# --- a hand-built hostile year -------------------------------------------------------------------

HOSTILE_NAMES = [
    "Fo*d",
    "Food",
    "Advice ~ money",
    "Advice  money",
    "?",
    " =SUM(1) ",
    "<b>",
]


@pytest.fixture
def hostile(app):
    mapping = {
        "Food voucher": 0,  # "Fo*d": a wildcard that would also match "Food"
        "Fridge": 1,  # "Food"
        "Gas bill": 2,  # "Advice ~ money": ~ escapes the next character in SUMIFS
        "Shoes": 5,  # " =SUM(1) ": spaces either side, and a formula's sign
        "Salary": 6,  # "<b>"
        "Kayaking": None,  # not mapped: "Not mapped" row
    }
    ledger = seed(app, HOSTILE_NAMES, mapping)
    record(
        app,
        ledger,
        [
            (
                "Food voucher",
                300,
                "h-both",
                10,
                DeliveryMethod.VOUCHER,
                AccessRoute.REFERRAL,
                None,
            ),
            (
                "Fridge",
                1000,
                "h-pensioner",
                20,
                DeliveryMethod.DIRECT_PURCHASE,
                AccessRoute.APPLICATION,
                None,
            ),
            ("Gas bill", 5000, "h-other", 30, DeliveryMethod.BILL_PAYMENT, None, None),
            # Staff costs: no beneficiary.
            ("Salary", 1857236, None, 40, DeliveryMethod.BANK_TRANSFER, None, None),
            # A young person on a household grant, in a household and not.
            (
                "Shoes",
                2599,
                "y-in-household",
                50,
                DeliveryMethod.VOUCHER,
                AccessRoute.PROACTIVE,
                None,
            ),
            (
                "Kayaking",
                4500,
                "y-alone",
                60,
                DeliveryMethod.ACTIVITY_PLACE,
                AccessRoute.REFERRAL,
                None,
            ),
            # Reversed in a later quarter.
            (
                "Food voucher",
                700,
                "h-other",
                80,
                DeliveryMethod.VOUCHER,
                AccessRoute.REFERRAL,
                100,
            ),
        ],
    )
    # Text no workbook can hold, already stored (the services take what an import or an
    # older version gave them; only the forms refuse it).
    with app.app_context():
        manager = db.session.scalars(select(User)).first()
        item = ItemType(
            category_id=db.session.scalar(select(ItemType.category_id)),
            name="Odd\uffff item",
        )
        db.session.add(item)
        db.session.flush()
        record_disbursement(
            AwardInput(
                grant_id=ledger.grant,
                item_type_id=item.id,
                amount=Decimal("1.00"),
                awarded_on=date(2023, 9, 1),
                delivery_method=DeliveryMethod.CASH,
                access_route=AccessRoute.REFERRAL,
                household_id=ledger.beneficiaries["h-other"][1],
                supplier="Tesco\ufffe\uffff",
                evidence_reference="INV\x01\x0b",
            ),
            actor=manager,
            today=TODAY,
        )
        db.session.get(Grant, ledger.grant).title = "Grant \ufffe title"
        db.session.commit()
    return ledger


def test_wildcards_spaces_and_formula_signs_are_names_not_patterns(app, hostile):
    built = build(app, hostile.grant, "hsf")
    spend = table(built, SPEND)
    assert spend["Fo*d"][-1] == "3.00"  # not £13.00 (Fo*d matching Food too)
    assert spend["Food"][-1] == "10.00"
    assert spend["Advice ~ money"][-1] == "50.00"
    assert spend["Advice  money"][-1] == "0.00"
    assert spend[" =SUM(1) "][-1] == "25.99"
    check_built(built)


def test_lines_without_a_household_have_their_own_columns(app, hostile):
    built = build(app, hostile.grant, "hsf")
    heading = next(
        t["heading"] for t in built.figures.plain["tables"] if t["title"] == SPEND
    )
    assert heading[5:7] == [
        "Young people (not a household)",
        "No beneficiary (staff and running costs)",
    ]
    spend = table(built, SPEND)
    # Staff costs stand in their own column, never in "Other households".
    assert spend["<b>"] == [
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "18572.36",
        "18572.36",
    ]
    assert spend["Not mapped"][4] == "45.00"  # the young person's kayaking
    assert spend["Total"][-1] == "18707.35"
    awards = table(built, "Number of awards (volumes)")
    assert awards["Total"][-1] == awards["Check: all lines in the period"][-1] == 7
    access = table(built, "By access route")
    assert access["Not applicable (no beneficiary)"] == ["18572.36", 1]
    households = table(built, "Households helped")["Households (each counted once)"]
    # Households only: the young people are not counted as households.
    assert households == [1, 1, 0, 1, 3]


def test_a_reversal_in_a_later_period_counts_where_it_is_dated(app, hostile):
    first = build(app, hostile.grant, "hsf", START, date(2023, 6, 30))
    later = build(app, hostile.grant, "hsf", date(2023, 7, 1), END)
    assert table(first, SPEND)["Fo*d"][3] == "7.00"
    assert table(later, SPEND)["Fo*d"][3] == "-7.00"
    assert table(later, "Number of awards (volumes)")["Fo*d"][3] == -1
    check_built(first)
    check_built(later)


def test_text_a_workbook_cannot_hold_does_not_stop_the_return(app, hostile):
    for key in ("hsf", "hsf-dwp", "budget"):
        built = build(app, hostile.grant, key)
        values = {
            c.value
            for row in openpyxl.load_workbook(io.BytesIO(built.workbook))[
                "Transactions"
            ].iter_rows()
            for c in row
        }
        # a cash line's supplier box may hold the payee's name: it is not shared
        assert not any("Tesco" in str(value) for value in values)
        assert "INV\ufffd\ufffd" in values and "Odd\ufffd item" in values
        check_built(built)


@needs_libreoffice
def test_libreoffice_agrees_on_the_hostile_year(app, hostile, tmp_path):
    built = {
        key: build(app, hostile.grant, key) for key in ("hsf", "hsf-dwp", "budget")
    }
    built["later"] = build(app, hostile.grant, "hsf", date(2023, 7, 1), END)
    built["empty"] = build(
        app, hostile.grant, "hsf", date(2024, 2, 1), date(2024, 2, 29)
    )
    recalculated = recalculate_all(
        {name: item.workbook for name, item in built.items()}, tmp_path
    )
    for name, item in built.items():
        assert_tables_match(
            item.figures.plain, recalculated[name], f"LibreOffice {name}"
        )


# --- random ledgers ------------------------------------------------------------------------------

names = st.text(alphabet="Fod*?~<>= ab", min_size=1, max_size=6)
awards = st.tuples(
    st.sampled_from(ITEMS),
    st.integers(min_value=1, max_value=250_000),
    st.sampled_from(
        ["h-both", "h-pensioner", "h-other", "y-in-household", "y-alone", None]
    ),
    st.integers(min_value=0, max_value=365),
    st.sampled_from(list(DeliveryMethod)),
    st.sampled_from([*list(AccessRoute)[:3], None]),
    st.one_of(st.none(), st.integers(min_value=0, max_value=120)),
)


@st.composite
def ledgers(draw):
    categories = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    mapping = {
        item: draw(st.one_of(st.none(), st.integers(0, len(categories) - 1)))
        for item in ITEMS
    }
    lines = draw(st.lists(awards, max_size=10))
    first = draw(st.integers(min_value=0, max_value=365))
    last = draw(st.integers(min_value=first, max_value=365))
    return (
        categories,
        mapping,
        lines,
        START + timedelta(days=first),
        START + timedelta(days=last),
    )


@pytest.fixture(scope="module")
def property_app(tmp_path_factory):
    from funds import create_app
    from tests.conftest import make_config

    app = create_app(
        make_config(), instance_path=str(tmp_path_factory.mktemp("instance"))
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@needs_libreoffice
@settings(
    max_examples=60 if FULL else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(history=ledgers())
def test_random_ledgers_agree_everywhere(property_app, tmp_path_factory, history):
    categories, mapping, lines, date_from, date_to = history
    app = property_app
    reset_database(app)
    ledger = seed(app, categories, mapping)
    record(app, ledger, lines)
    built = {
        "hsf": build(app, ledger.grant, "hsf", date_from, date_to),
        "budget": build(app, ledger.grant, "budget", date_from, date_to),
    }
    for item in built.values():
        check_built(item)
    folder = tmp_path_factory.mktemp("random")
    recalculated = recalculate_all(
        {name: item.workbook for name, item in built.items()}, folder
    )
    for name, item in built.items():
        assert_tables_match(
            item.figures.plain, recalculated[name], f"LibreOffice {name}"
        )
    shutil.rmtree(folder, ignore_errors=True)
