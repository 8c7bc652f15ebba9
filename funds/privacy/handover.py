"""The hand-over export at the end of a contract: everything about one grant's
beneficiaries (the households and young people who received from it or attended its
sessions) as a zip of formula-safe CSV files and a README describing each file and column.
The format is documented in docs/handover-format.md (the same text as the README)."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, union
from sqlalchemy.orm import aliased

from funds.audit import record_event
from funds.database import begin_writing
from funds.downloads import Column, csv_lines
from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    Disbursement,
    DisbursementPayment,
    EvidenceFile,
    Grant,
    Household,
    ItemType,
    Team,
    User,
    Voucher,
    YoungPerson,
)
from funds.payment_status import PaymentStatus, status_of


@dataclass(frozen=True)
class Field:
    """One column of a hand-over file: heading, kind (for ``csv_text``), meaning."""

    heading: str
    kind: str
    meaning: str

    @property
    def column(self) -> Column:
        return Column(self.heading, self.kind)


@dataclass(frozen=True)
class FileSpec:
    name: str
    about: str
    fields: tuple[Field, ...]


_T, _D, _M, _N = "text", "date", "money", "number"

HOUSEHOLDS = FileSpec(
    "households.csv",
    "One row per household that received an award from the grant.",
    (
        Field("reference", _T, "The household's pseudonymous reference (H-...)."),
        Field("name", _T, "Name, if recorded (personal data)."),
        Field("contact", _T, "Contact details, if recorded (personal data)."),
        Field("case_reference", _T, "The reference in the case-management system."),
        Field("adults", _N, "Number of adults."),
        Field("children", _N, "Number of children."),
        Field("has_children", _T, "Yes or No: the household has children."),
        Field("has_pensioner", _T, "Yes or No: the household has a pensioner."),
        Field("has_disabled_person", _T, "Yes or No: a disabled person lives there."),
        Field("has_care_leaver", _T, "Yes or No: a care leaver lives there."),
        Field("postcode_district", _T, "The outward part of the postcode only."),
        Field("team", _T, "The team that works with them."),
        Field("notes", _T, "Free-text notes (personal data)."),
        Field("added_at", _D, "When the record was added (UTC)."),
        Field(
            "erased_at", _D, "When personal details were erased (UTC), if they were."
        ),
    ),
)

YOUNG_PEOPLE = FileSpec(
    "young_people.csv",
    "One row per young person who received an award from the grant or was on the "
    "register of one of its activity sessions.",
    (
        Field("reference", _T, "The young person's pseudonymous reference (YP-...)."),
        Field("name", _T, "Name, if recorded (personal data)."),
        Field("contact", _T, "Contact details, if recorded (personal data)."),
        Field("case_reference", _T, "The reference in the case-management system."),
        Field("date_of_birth", _D, "Date of birth (YYYY-MM-DD), if recorded."),
        Field("gender", _T, "Gender as they describe it."),
        Field("ethnicity", _T, "ONS 2021 high-level ethnic group."),
        Field("disability", _T, "Whether they consider themselves disabled."),
        Field("team", _T, "The team that works with them."),
        Field("household_reference", _T, "The linked household's reference, if any."),
        Field("notes", _T, "Free-text notes (personal data)."),
        Field("added_at", _D, "When the record was added (UTC)."),
        Field(
            "erased_at", _D, "When personal details were erased (UTC), if they were."
        ),
    ),
)

AWARDS = FileSpec(
    "awards.csv",
    "One row per ledger line of the grant that has a beneficiary: awards and the "
    "reversals that cancel them (lines for activity sessions have no beneficiary and "
    "are not listed).",
    (
        Field("award_id", _N, "The ledger line's number in funds."),
        Field("awarded_on", _D, "The date of the award or reversal (YYYY-MM-DD)."),
        Field("beneficiary_type", _T, "household or young_person."),
        Field(
            "beneficiary_reference",
            _T,
            "Reference in households.csv or young_people.csv.",
        ),
        Field("item", _T, "What was given."),
        Field("quantity", _N, "How many."),
        Field("amount", _M, "Pounds, 2 decimal places; negative for a reversal."),
        Field("delivery_method", _T, "voucher, direct purchase, bill payment, cash..."),
        Field("access_route", _T, "application, proactive or referral, if recorded."),
        Field("supplier", _T, "Who supplied it."),
        Field("evidence_reference", _T, "The receipt or invoice reference typed in."),
        Field("notes", _T, "Free-text notes on the award."),
        Field(
            "payment_status",
            _T,
            "Paid, Not yet paid, Reversed, Reversal, or a stock voucher.",
        ),
        Field("paid_on", _D, "When finance marked it paid (YYYY-MM-DD), if it was."),
        Field("payment_reference", _T, "The payment's reference, if paid."),
        Field("reverses_award_id", _N, "For a reversal: the award it cancels."),
        Field("reversal_reason", _T, "For a reversal: why."),
        Field("recorded_by", _T, "Who recorded the line."),
        Field("recorded_at", _D, "When it was recorded (UTC)."),
    ),
)

ATTENDANCES = FileSpec(
    "attendances.csv",
    "One row per young person on the register of one of the grant's activity sessions.",
    (
        Field("session_id", _N, "The session's number in funds."),
        Field("held_on", _D, "The session's date (YYYY-MM-DD)."),
        Field("activity", _T, "What the activity was."),
        Field("young_person_reference", _T, "Reference in young_people.csv."),
    ),
)

VOUCHERS = FileSpec(
    "vouchers.csv",
    "One row per voucher from stock given out on one of the awards in awards.csv.",
    (
        Field("serial", _T, "The voucher's serial number."),
        Field("supplier", _T, "Who issued the voucher."),
        Field("award_id", _N, "The award in awards.csv it was given out on."),
        Field("beneficiary_reference", _T, "Who received it."),
        Field(
            "status", _T, "issued, returned or expired (as the stock records it now)."
        ),
    ),
)

EVIDENCE = FileSpec(
    "evidence_files.csv",
    "One row per evidence file attached to an award in awards.csv (the list only: the "
    "files themselves are in the grant's evidence pack).",
    (
        Field("award_id", _N, "The award in awards.csv."),
        Field("file_name", _T, "The file's name as uploaded."),
        Field("content_type", _T, "The kind of file (e.g. application/pdf)."),
        Field("size_bytes", _N, "Its size in bytes."),
        Field("sha256", _T, "SHA-256 of its contents, to check a copy."),
        Field("uploaded_at", _D, "When it was uploaded (UTC)."),
        Field("removed_at", _D, "When it was removed (UTC), if it was."),
    ),
)

FILES = (HOUSEHOLDS, YOUNG_PEOPLE, AWARDS, ATTENDANCES, VOUCHERS, EVIDENCE)


def readme_text() -> str:
    """What each file and column holds: the README.txt in the zip, and the body of
    docs/handover-format.md."""
    lines = [
        "Hand-over export: one grant's beneficiaries",
        "",
        "Every file is CSV in UTF-8 with a byte-order mark, comma-separated, one heading",
        "row. Dates are YYYY-MM-DD; times are YYYY-MM-DD HH:MM:SS in UTC. Amounts are",
        "pounds with 2 decimal places. Text that would start a spreadsheet formula",
        "(= + - @, a tab or a line break, even after spaces) starts with an",
        "apostrophe. Empty means not recorded. The files hold personal data: keep",
        "them as the data-sharing agreement says.",
    ]
    for spec in FILES:
        lines += ["", spec.name, "-" * len(spec.name), spec.about, ""]
        lines += [f"  {field.heading}: {field.meaning}" for field in spec.fields]
    return "\n".join(lines) + "\n"


# --- who the grant's beneficiaries are ------------------------------------------------------


def _household_ids(grant_id: int) -> Select:
    return select(Disbursement.household_id).where(
        Disbursement.grant_id == grant_id, Disbursement.household_id.is_not(None)
    )


def _young_person_ids(grant_id: int):
    return union(
        select(Disbursement.young_person_id).where(
            Disbursement.grant_id == grant_id,
            Disbursement.young_person_id.is_not(None),
        ),
        select(Attendance.young_person_id)
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(ActivitySession.grant_id == grant_id),
    )


def _rows(query: Select) -> Iterator[tuple]:
    yield from db.session.execute(query.execution_options(yield_per=1000))


def _households(grant_id: int) -> Iterator[tuple]:
    team = aliased(Team)
    query = (
        select(
            Household.reference,
            Household.name,
            Household.contact,
            Household.case_reference,
            Household.adults,
            Household.children,
            Household.has_children,
            Household.has_pensioner,
            Household.has_disabled_person,
            Household.has_care_leaver,
            Household.postcode_district,
            team.name,
            Household.notes,
            Household.created_at,
            Household.erased_at,
        )
        .outerjoin(team, team.id == Household.team_id)
        .where(Household.id.in_(_household_ids(grant_id)))
        .order_by(Household.reference)
    )
    return _rows(query)


def _young_people(grant_id: int) -> Iterator[tuple]:
    team = aliased(Team)
    household = aliased(Household)
    ids = _young_person_ids(grant_id).subquery()
    query = (
        select(
            YoungPerson.reference,
            YoungPerson.name,
            YoungPerson.contact,
            YoungPerson.case_reference,
            YoungPerson.date_of_birth,
            YoungPerson.gender,
            YoungPerson.ethnicity,
            YoungPerson.disability,
            team.name,
            household.reference,
            YoungPerson.notes,
            YoungPerson.created_at,
            YoungPerson.erased_at,
        )
        .outerjoin(team, team.id == YoungPerson.team_id)
        .outerjoin(household, household.id == YoungPerson.household_id)
        .where(YoungPerson.id.in_(select(ids.c[0])))
        .order_by(YoungPerson.reference)
    )
    for row in _rows(query):
        values = list(row)
        values[5:8] = [enum.label for enum in values[5:8]]
        yield tuple(values)


def _with_beneficiary(grant_id: int):
    return (
        Disbursement.grant_id == grant_id,
        (Disbursement.household_id.is_not(None))
        | (Disbursement.young_person_id.is_not(None)),
    )


def _awards(grant_id: int) -> Iterator[tuple]:
    household = aliased(Household)
    person = aliased(YoungPerson)
    # An alias: status_of()'s EXISTS reads the payments table on its own.
    payment = aliased(DisbursementPayment)
    query = (
        select(
            Disbursement.id,
            Disbursement.awarded_on,
            household.reference,
            person.reference,
            ItemType.name,
            Disbursement.quantity,
            Disbursement.amount,
            Disbursement.delivery_method,
            Disbursement.access_route,
            Disbursement.supplier,
            Disbursement.evidence_reference,
            Disbursement.notes,
            status_of(),
            payment.paid_on,
            payment.payment_reference,
            Disbursement.reverses_id,
            Disbursement.reason,
            User.name,
            Disbursement.created_at,
        )
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .join(User, User.id == Disbursement.created_by_id)
        .outerjoin(household, household.id == Disbursement.household_id)
        .outerjoin(person, person.id == Disbursement.young_person_id)
        .outerjoin(payment, payment.disbursement_id == Disbursement.id)
        .where(*_with_beneficiary(grant_id))
        .order_by(Disbursement.awarded_on, Disbursement.id)
    )
    for row in _rows(query):
        values = list(row)
        household_ref, person_ref = values[2], values[3]
        values[2:4] = [
            "household" if household_ref else "young_person",
            household_ref or person_ref,
        ]
        method, route, status = values[7], values[8], values[12]
        values[7] = method.label
        values[8] = route.value if route is not None else None
        values[12] = PaymentStatus(status).label
        yield tuple(values)


def _attendances(grant_id: int) -> Iterator[tuple]:
    query = (
        select(
            ActivitySession.id,
            ActivitySession.held_on,
            ItemType.name,
            YoungPerson.reference,
        )
        .join(Attendance, Attendance.session_id == ActivitySession.id)
        .join(YoungPerson, YoungPerson.id == Attendance.young_person_id)
        .join(ItemType, ItemType.id == ActivitySession.item_type_id)
        .where(ActivitySession.grant_id == grant_id)
        .order_by(ActivitySession.held_on, ActivitySession.id, YoungPerson.reference)
    )
    return _rows(query)


def _vouchers(grant_id: int) -> Iterator[tuple]:
    household = aliased(Household)
    person = aliased(YoungPerson)
    query = (
        select(
            Voucher.serial,
            Voucher.supplier,
            Disbursement.id,
            household.reference,
            person.reference,
            Voucher.status,
        )
        .join(Disbursement, Disbursement.id == Voucher.disbursement_id)
        .outerjoin(household, household.id == Disbursement.household_id)
        .outerjoin(person, person.id == Disbursement.young_person_id)
        .where(*_with_beneficiary(grant_id))
        .order_by(Disbursement.id, Voucher.serial)
    )
    for serial, supplier, ident, household_ref, person_ref, status in _rows(query):
        yield serial, supplier, ident, household_ref or person_ref, status.value


def _evidence(grant_id: int) -> Iterator[tuple]:
    query = (
        select(
            EvidenceFile.disbursement_id,
            EvidenceFile.original_name,
            EvidenceFile.content_type,
            EvidenceFile.size_bytes,
            EvidenceFile.sha256,
            EvidenceFile.uploaded_at,
            EvidenceFile.removed_at,
        )
        .join(Disbursement, Disbursement.id == EvidenceFile.disbursement_id)
        .where(*_with_beneficiary(grant_id))
        .order_by(EvidenceFile.disbursement_id, EvidenceFile.id)
    )
    return _rows(query)


_SOURCES = {
    HOUSEHOLDS.name: _households,
    YOUNG_PEOPLE.name: _young_people,
    AWARDS.name: _awards,
    ATTENDANCES.name: _attendances,
    VOUCHERS.name: _vouchers,
    EVIDENCE.name: _evidence,
}


def _counting(rows, tally: list[int]) -> Iterator[tuple]:
    """The rows, counting them into ``tally[0]`` as they are written."""
    for row in rows:
        tally[0] += 1
        yield row


def build_handover(grant: Grant, *, now: datetime):
    """Write the zip to a temporary file; returns (the file, rewound; rows per file)."""
    spool = tempfile.TemporaryFile()
    counts: dict[str, int] = {}
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", readme_text())
            for spec in FILES:
                tally = [0]
                rows = _counting(_SOURCES[spec.name](grant.id), tally)
                with archive.open(spec.name, "w") as member:
                    for piece in csv_lines([f.column for f in spec.fields], rows):
                        member.write(piece.encode("utf-8"))
                counts[spec.name.removesuffix(".csv")] = tally[0]
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, counts


def record_handover(
    grant: Grant, *, actor: User | None, counts: dict[str, int]
) -> None:
    """Put the hand-over on record (``grant.handover``): the grant and the row counts."""
    begin_writing()
    record_event(
        "grant.handover",
        actor=actor,
        obj=grant,
        after={"grant": grant.reference, **counts},
    )
