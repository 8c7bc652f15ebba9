"""The evidence pack: what is in it, what is left out, and that it matches the ledger."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from funds.evidence.pack import build_pack
from funds.extensions import db
from funds.models import (
    AccessRoute,
    AuditEvent,
    Disbursement,
    EvidenceKind,
    Grant,
    Household,
    Role,
    ScanStatus,
    User,
    Voucher,
    YoungPerson,
)
from funds.models.disbursement import CASH_FIRST_METHODS
from funds.money import from_pence, pence_sum
from tests.conftest import REAL_TODAY, TODAY
from tests.evidence.pack_helpers import (
    HOSTILE_MARKERS,
    HOSTILE_NAMES,
    PNG,
    Pack,
    add_file,
    pounds,
    sha256,
)

FULL = (date(2024, 4, 1), date(2025, 3, 31))


@pytest.fixture
def ledger(
    app,
    create_grant,
    create_household,
    create_young_person,
    create_disbursement,
    create_session,
    create_batch,
    create_user,
):
    """A grant with hostile people, awards, a reversal, a line with no beneficiary,
    a voucher issued from a batch, a session, an agreement and files of every kind."""
    from funds.disbursements.services import reverse_disbursement
    from funds.vouchers.services import issue_vouchers

    grant = create_grant("5000.00", reference="G-PACK")
    household = create_household()
    person = create_young_person()
    uploader = create_user(Role.STAFF, name="Uma Uploader")
    ids = {"grant": grant, "household": household, "person": person}
    ids["award"] = create_disbursement(
        grant,
        "12.34",
        household_id=household,
        supplier='=HYPERLINK("http://evil.example","click")',
        awarded_on=date(2024, 5, 2),
    )
    ids["young"] = create_disbursement(
        grant,
        "0.10",
        young_person_id=person,
        supplier="+1",
        awarded_on=date(2024, 5, 3),
    )
    ids["nobody"] = create_disbursement(
        grant,
        "250.00",
        item="Fridge",
        supplier="Argos\ufffe<b>",
        awarded_on=date(2024, 6, 1),
        access_route=AccessRoute.NOT_APPLICABLE,
    )
    ids["session"] = create_session(
        grant, "80.00", attendees=(person,), held_on=date(2024, 6, 5)
    )
    ids["batch"] = create_batch(grant, quantity=3, purchased_on=date(2024, 5, 1))
    with app.app_context():
        db.session.execute(
            update(Household)
            .where(Household.id == household)
            .values(name=HOSTILE_NAMES[0], contact="0779 000 111", notes="Zelda note")
        )
        db.session.execute(
            update(YoungPerson)
            .where(YoungPerson.id == person)
            .values(name=HOSTILE_NAMES[1], contact="0779 000 222", notes="Yvonne note")
        )
        db.session.commit()
        manager = db.session.scalars(
            select(User).where(User.role == Role.MANAGER)
        ).first()
        voucher = db.session.scalars(
            select(Voucher).order_by(Voucher.serial).limit(1)
        ).one()
        issued = issue_vouchers(
            [voucher.id],
            actor=manager,
            household_id=household,
            awarded_on=date(2024, 6, 10),
            access_route=AccessRoute.APPLICATION,
            today=TODAY,
        )
        ids["voucher_line"] = issued[0].id
        ids["serial"] = voucher.serial
        db.session.commit()
        reversal = reverse_disbursement(
            db.session.get(Disbursement, ids["award"]),
            actor=manager,
            reason="Zelda Quixote asked twice",
            reversed_on=date(2024, 9, 1),
            today=TODAY,
        )
        ids["reversal"] = reversal.id
        db.session.commit()
        ids["files"] = {
            "award": add_file(
                grant, EvidenceKind.AWARD, uploader_id=uploader, record_id=ids["award"]
            ),
            "award_png": add_file(
                grant,
                EvidenceKind.AWARD,
                uploader_id=uploader,
                record_id=ids["award"],
                data=PNG,
                content_type="image/png",
            ),
            "removed": add_file(
                grant,
                EvidenceKind.AWARD,
                uploader_id=uploader,
                record_id=ids["nobody"],
                removed_reason="Uploaded to the wrong award",
            ),
            "batch": add_file(
                grant,
                EvidenceKind.VOUCHER_BATCH,
                uploader_id=uploader,
                record_id=ids["batch"],
                data=b"%PDF-1.4 batch invoice",
            ),
            "session": add_file(
                grant,
                EvidenceKind.SESSION,
                uploader_id=uploader,
                record_id=ids["session"],
                data=b"%PDF-1.4 session invoice",
            ),
            "agreement": add_file(
                grant,
                EvidenceKind.AGREEMENT,
                uploader_id=uploader,
                data=b"%PDF-1.4 the agreement",
            ),
            "waiting": add_file(
                grant,
                EvidenceKind.AWARD,
                uploader_id=uploader,
                record_id=ids["young"],
                data=b"%PDF-1.4 waiting",
                scan=ScanStatus.NOT_SCANNED,
            ),
        }
    return ids


def _pack(app, grant_id: int, date_from: date, date_to: date, **kwargs) -> Pack:
    with app.app_context():
        target = io.BytesIO()
        build_pack(
            db.session.get(Grant, grant_id),
            date_from,
            date_to,
            target,
            prepared_by="Test",
            **kwargs,
        )
        db.session.rollback()
    return Pack(target.getvalue())


def _sql_total(app, grant_id: int, date_from: date, date_to: date) -> Decimal:
    with app.app_context():
        return from_pence(
            db.session.scalar(
                select(pence_sum(Disbursement.amount)).where(
                    Disbursement.grant_id == grant_id,
                    Disbursement.awarded_on.between(date_from, date_to),
                )
            )
        )


def test_manifest_hashes_are_the_hashes_of_the_files_in_the_zip(app, ledger):
    pack = _pack(app, ledger["grant"], *FULL)
    files = pack.rows("Evidence files")
    included = [f for f in files if f["File in the pack"]]
    assert len(included) == 5  # the removed and the waiting file are listed, not in
    for row in included:
        assert row["SHA-256"] == sha256(pack.read(row["File in the pack"]))
    assert sorted(pack.evidence_members()) == sorted(
        f["File in the pack"] for f in included
    )
    # named by ledger id, batch, session and agreement
    award = ledger["award"]
    assert f"evidence/{award}-1.pdf" in pack.names
    assert f"evidence/{award}-2.png" in pack.names
    assert f"evidence/batch-{ledger['batch']}-1.pdf" in pack.names
    assert f"evidence/session-{ledger['session']}-1.pdf" in pack.names
    assert "evidence/agreement-1.pdf" in pack.names
    # the ledger sheet names the same files and hashes on the award's row
    lines = {row["Ledger id"]: row for row in pack.rows("Ledger lines")}
    names = lines[award]["Evidence files (in the pack)"].split("\n")
    hashes = lines[award]["SHA-256"].split("\n")
    assert names == [f"evidence/{award}-1.pdf", f"evidence/{award}-2.png"]
    for name, digest in zip(names, hashes, strict=True):
        assert digest == sha256(pack.read(name))
    assert lines[award]["Uploaded by"].split("\n") == ["Uma Uploader"] * 2
    for name in ("manifest.xlsx", "audit-summary.csv", "README.txt"):
        assert name in pack.names


def test_amounts_read_back_sum_to_the_ledger_total(app, ledger):
    pack = _pack(app, ledger["grant"], *FULL)
    total = _sql_total(app, ledger["grant"], *FULL)
    rows = pack.rows("Ledger lines")
    with app.app_context():
        assert len(rows) == db.session.scalar(
            select(func.count(Disbursement.id)).where(
                Disbursement.grant_id == ledger["grant"]
            )
        )
    assert sum(pounds(r["Amount"]) for r in rows) == total
    formulas = {
        row[0]: row[1] for row in pack.formulas["Summary"].iter_rows(values_only=True)
    }
    last = len(rows) + 1
    assert formulas["Total of the ledger lines in the period"] == (
        f"=SUM('Ledger lines'!C2:C{last})"
    )
    assert pounds(pack.summary()["Total of the ledger lines in the period"]) == total
    for engine in ("openpyxl", "calamine"):
        frame = pd.read_excel(
            io.BytesIO(pack.read("manifest.xlsx")), sheet_name=None, engine=engine
        )
        assert sum(pounds(v) for v in frame["Ledger lines"]["Amount"]) == total
    # stored exactly: the cell's XML holds the Decimal's digits, with the £ format
    sheet_xml = zipfile.ZipFile(io.BytesIO(pack.read("manifest.xlsx"))).read(
        "xl/worksheets/sheet2.xml"
    )
    assert b"<v>0.10</v>" in sheet_xml and b"<v>12.34</v>" in sheet_xml
    ws = pack.manifest["Ledger lines"]
    assert "£" in ws["C2"].number_format


def test_every_kind_of_line_is_a_row_with_references_only(app, ledger):
    pack = _pack(app, ledger["grant"], *FULL)
    lines = {row["Ledger id"]: row for row in pack.rows("Ledger lines")}
    with app.app_context():
        household_ref = db.session.get(Household, ledger["household"]).reference
        person_ref = db.session.get(YoungPerson, ledger["person"]).reference
    assert lines[ledger["award"]]["Household or young person (reference)"] == (
        household_ref
    )
    assert lines[ledger["young"]]["Household or young person (reference)"] == person_ref
    assert lines[ledger["nobody"]]["Household or young person (reference)"] is None
    reversal = lines[ledger["reversal"]]
    assert reversal["Reverses ledger id"] == ledger["award"]
    assert pounds(reversal["Amount"]) == Decimal("-12.34")
    assert reversal["Payment status"] == "Reversal"
    assert lines[ledger["voucher_line"]]["Voucher serials"] == ledger["serial"]
    # user text is stored as text, never as a formula
    assert lines[ledger["award"]]["Supplier"].startswith("=HYPERLINK(")
    assert lines[ledger["young"]]["Supplier"] == "+1"
    assert lines[ledger["nobody"]]["Supplier"] == "Argos\ufffd<b>"
    xml = zipfile.ZipFile(io.BytesIO(pack.read("manifest.xlsx"))).read(
        "xl/worksheets/sheet2.xml"
    )
    assert b"<f>" not in xml
    assert pack.rows("Voucher batches")[0]["Batch"] == ledger["batch"]
    sessions = pack.rows("Activity sessions")
    assert sessions[0]["Session"] == ledger["session"]
    assert sessions[0]["Attendees (count)"] == 1


def test_no_name_of_a_person_helped_is_in_any_member(app, ledger):
    pack = _pack(app, ledger["grant"], *FULL, template="hsf")
    assert any(name.startswith("funder-return-") for name in pack.names)
    checked = 0
    for name, data in pack.all_bytes():
        text = data.decode("utf-8", "replace")
        for marker in HOSTILE_MARKERS:
            assert marker not in text, f"{marker!r} in {name}"
            assert marker.encode("utf-16-le") not in data, f"{marker!r} in {name}"
        checked += 1
    assert checked > 10


def test_removed_and_unscanned_files_are_listed_not_included(app, ledger):
    app.config["CLAMD_ADDRESS"] = "127.0.0.1:3310"
    pack = _pack(app, ledger["grant"], *FULL)
    notes = {
        row["Attached to"]: row
        for row in pack.rows("Evidence files")
        if row["Not included / notes"]
    }
    removed = notes[f"Award {ledger['nobody']}"]
    assert removed["File in the pack"] is None
    assert "Removed 2024-07-01 09:30 UTC" in removed["Not included / notes"]
    # when and by whom, never the reason typed (it may name the person helped)
    assert "Uploaded to the wrong award" not in removed["Not included / notes"]
    for name, data in pack.all_bytes():
        assert b"wrong award" not in data, name
    # scanning is on: every file not scanned clean stays out, saying why
    waiting = notes[f"Award {ledger['young']}"]
    assert waiting["Not included / notes"] == "Not included: Waiting to be scanned"
    assert pack.evidence_members() == []
    lines = {row["Ledger id"]: row for row in pack.rows("Ledger lines")}
    assert "Removed" in lines[ledger["nobody"]]["Evidence not included / notes"]
    assert pack.summary()["Evidence files in the pack"] == 0
    assert pack.summary()["Evidence files listed but not in the pack"] == 7


def test_scanning_off_a_file_waiting_for_the_scanner_is_listed_not_included(
    app, ledger
):
    # Scanning was switched off after the file was uploaded: it still cannot be
    # downloaded, so it does not leave in the pack either (one rule for both).
    pack = _pack(app, ledger["grant"], *FULL)
    assert f"evidence/{ledger['young']}-1.pdf" not in pack.names
    notes = {row["Attached to"]: row for row in pack.rows("Evidence files")}
    waiting = notes[f"Award {ledger['young']}"]
    assert waiting["File in the pack"] is None
    assert waiting["Not included / notes"] == "Not included: Waiting to be scanned"
    # files uploaded while scanning was off are included
    assert f"evidence/{ledger['award']}-1.pdf" in pack.names


def test_money_paid_to_the_person_never_names_them_in_the_pack(
    app, create_grant, create_household, create_disbursement
):
    grant = create_grant("900.00", reference="G-PAYEE")
    household = create_household()
    payee = 'Payee =Ignatius "Payeeworth" *?~<b>\ufffe'
    paid = {
        method: create_disbursement(
            grant,
            "40.00",
            household_id=household,
            delivery_method=method,
            supplier=payee,
            awarded_on=date(2024, 5, 2),
        )
        for method in CASH_FIRST_METHODS
    }
    shop = create_disbursement(
        grant, "5.00", household_id=household, supplier="Tesco Extra"
    )
    pack = _pack(app, grant, *FULL, template="hsf")
    for name, data in pack.all_bytes():
        for marker in ("Ignatius", "Payeeworth"):
            assert marker not in data.decode("utf-8", "replace"), f"{marker} in {name}"
            assert marker.encode("utf-16-le") not in data, f"{marker} in {name}"
    lines = {row["Ledger id"]: row for row in pack.rows("Ledger lines")}
    assert {lines[ident]["Supplier"] for ident in paid.values()} == {None}
    assert lines[shop]["Supplier"] == "Tesco Extra"


def test_an_empty_period_gives_a_valid_pack_with_no_lines(app, ledger):
    pack = _pack(app, ledger["grant"], date(2024, 4, 1), date(2024, 4, 30))
    assert pack.rows("Ledger lines") == []
    assert pack.summary()["Ledger lines in the period"] == 0
    assert pounds(pack.summary()["Total of the ledger lines in the period"]) == 0
    # only the agreement belongs to every period
    assert pack.evidence_members() == ["evidence/agreement-1.pdf"]
    assert "return-not-included.txt" in pack.names


def test_a_reversal_in_a_later_period_falls_in_the_later_pack(app, ledger):
    first = _pack(app, ledger["grant"], date(2024, 4, 1), date(2024, 8, 31))
    later = _pack(app, ledger["grant"], date(2024, 9, 1), date(2024, 9, 30))
    first_ids = {r["Ledger id"] for r in first.rows("Ledger lines")}
    later_rows = later.rows("Ledger lines")
    assert ledger["award"] in first_ids and ledger["reversal"] not in first_ids
    assert [r["Ledger id"] for r in later_rows] == [ledger["reversal"]]
    assert pounds(later.summary()["Total of the ledger lines in the period"]) == (
        Decimal("-12.34")
    )
    assert _sql_total(app, ledger["grant"], date(2024, 9, 1), date(2024, 9, 30)) == (
        Decimal("-12.34")
    )


def test_the_funder_return_or_why_not(app, ledger):
    with_return = _pack(app, ledger["grant"], *FULL, template="budget")
    returned = [n for n in with_return.names if n.startswith("funder-return-")]
    assert returned and "return-not-included.txt" not in with_return.names
    from openpyxl import load_workbook

    load_workbook(io.BytesIO(with_return.read(returned[0])))
    # a period running past the grant's end: the return refuses it, the pack says why
    overlapping = _pack(app, ledger["grant"], date(2025, 1, 1), date(2025, 6, 30))
    note = overlapping.read("return-not-included.txt").decode("utf-8")
    assert "no return has been submitted" in note
    refused = _pack(
        app, ledger["grant"], date(2025, 1, 1), date(2025, 6, 30), template="budget"
    )
    note = refused.read("return-not-included.txt").decode("utf-8")
    assert "within the grant's period" in note


def test_audit_summary_has_events_and_counts_without_values(app, ledger):
    # The events were recorded today, outside the grant's period: a pack whose period
    # runs on to today lists them.
    today = REAL_TODAY
    pack = _pack(app, ledger["grant"], date(2024, 4, 1), today)
    text = pack.read("audit-summary.csv").decode("utf-8-sig")
    events, _, counts = text.partition("\r\n\r\n")
    lines = events.split("\r\n")
    assert lines[0] == "When (UTC),Who,Action,Object"
    assert any(
        line.endswith(f"disbursement.reverse,Ledger line {ledger['reversal']}")
        for line in lines
    )
    assert any("Grant G-PACK" in line for line in lines)
    # no values: not the reversal's reason, not a person's name
    assert "twice" not in text and "Zelda" not in text
    with app.app_context():
        reversals = db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "disbursement.reverse"
            )
        )
    assert counts.startswith("Action,Events\r\n")
    assert f"disbursement.reverse,{reversals}\r\n" in counts
    # a period before any event: headings only
    empty = _pack(app, ledger["grant"], date(2024, 4, 1), date(2024, 4, 30))
    assert (
        empty.read("audit-summary.csv")
        .decode("utf-8-sig")
        .startswith("When (UTC),Who,Action,Object\r\n\r\nAction,Events")
    )
