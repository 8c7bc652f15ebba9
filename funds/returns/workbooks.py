"""Pure builders: a return's context, figures and rows in, an openpyxl workbook out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from funds.returns.queries import GROUP_LABELS, GROUP_ORDER, TX_COLUMNS, suppressed
from funds.returns.xlsx import (
    BOLD,
    TITLE,
    TOTAL_FILL,
    StreamCells,
    add_table,
    date_cell,
    formula_cell,
    header_row,
    money_cell,
    new_workbook,
    number_cell,
    print_setup,
    set_widths,
    text_cell,
)

TX = {name: get_column_letter(index) for index, name in enumerate(TX_COLUMNS, start=1)}
TX_WIDTHS = [12, 10, 10, 10, 13, 30, 34, 18, 22, 22, 20, 16, 13, 9, 8, 13, 11, 9]


@dataclass(frozen=True)
class ReturnContext:
    """What the cover sheet says about a return."""

    organisation: str
    funder: str
    grant_reference: str
    grant_title: str
    grant_total: Decimal
    grant_starts_on: date
    grant_ends_on: date
    template_label: str
    period_from: date
    period_to: date
    prepared_by: str
    prepared_on: date
    checksum: str


def _range(column: str, rows: int) -> str:
    """An absolute range over one Transactions column (plain ranges recalculate anywhere)."""
    letter = TX[column]
    return f"Transactions!${letter}$2:${letter}${max(rows + 1, 2)}"


def write_cover(workbook: Workbook, context: ReturnContext) -> None:
    """Sheet 1: who, what, which period, and the checksum of the figures."""
    ws = workbook.create_sheet("Cover")
    print_setup(ws, title_rows=None)
    set_widths(ws, [36, 70])
    ws.append([text_cell(ws, f"{context.template_label} return", font=TITLE)])
    ws.append([])
    rows = [
        ("Organisation", text_cell(ws, context.organisation)),
        ("Funder", text_cell(ws, context.funder)),
        ("Grant reference", text_cell(ws, context.grant_reference)),
        ("Grant", text_cell(ws, context.grant_title)),
        ("Grant total", money_cell(ws, context.grant_total)),
        ("Grant period starts", date_cell(ws, context.grant_starts_on)),
        ("Grant period ends", date_cell(ws, context.grant_ends_on)),
        ("Return period from", date_cell(ws, context.period_from)),
        ("Return period to", date_cell(ws, context.period_to)),
        ("Prepared by", text_cell(ws, context.prepared_by)),
        ("Prepared on", date_cell(ws, context.prepared_on)),
        ("Checksum of the figures (SHA-256)", text_cell(ws, context.checksum)),
    ]
    for label, cell in rows:
        ws.append([text_cell(ws, label, font=BOLD), cell])
    ws.append([])
    notes = (
        "The Summary sheet's figures are formulas over the Transactions sheet:",
        "every figure can be traced to the ledger lines behind it.",
        "People are identified only by pseudonymous references.",
    )
    for index, line in enumerate(notes):
        label = text_cell(ws, "About these figures" if index == 0 else "", font=BOLD)
        ws.append([label, text_cell(ws, line)])


def write_transactions(workbook: Workbook, rows: Iterable[tuple], count: int) -> None:
    """The ledger lines as an Excel table, streamed row by row."""
    ws = workbook.create_sheet("Transactions")
    print_setup(ws)
    set_widths(ws, TX_WIDTHS)
    ws.freeze_panes = "A2"
    ws.append(header_row(ws, TX_COLUMNS))
    cells = StreamCells(ws)
    text = cells.text
    written = 0
    for row in rows:
        (
            on,
            ident,
            kind,
            reverses,
            ref,
            group,
            fcat,
            scat,
            item,
            supplier,
            evidence,
            method,
            route,
            qty,
            awards,
            amount,
            new,
            in_period,
        ) = row
        ws.append(
            [
                cells.date(on),
                ident,
                kind,
                reverses,
                ref,
                group,
                text(fcat),
                text(scat),
                text(item),
                text(supplier),
                text(evidence),
                method,
                route,
                qty,
                awards,
                cells.money(amount),
                new,
                in_period,
            ]
        )
        written += 1
    if written != count:
        raise RuntimeError(f"expected {count} ledger lines, wrote {written}")
    add_table(ws, "tblTransactions", TX_COLUMNS, written + 1)


def _sumifs(value: str, rows: int, *criteria: tuple[str, str]) -> str:
    parts = [_range(value, rows)]
    for column, criterion in criteria:
        parts += [_range(column, rows), criterion]
    return f"=SUMIFS({','.join(parts)})"


def _heading(ws, labels: list[str]) -> None:
    ws.append(header_row(ws, labels))


class RowWriter:
    """Appends rows to a write-only sheet and remembers the row number, for formulas."""

    def __init__(self, ws):
        self.ws = ws
        self.row = 0

    def append(self, cells: list) -> int:
        self.ws.append(cells)
        self.row += 1
        return self.row

    def blank(self) -> int:
        return self.append([])

    def title(self, text: str) -> int:
        return self.append([text_cell(self.ws, text, font=TITLE)])

    def heading(self, labels: list[str]) -> int:
        return self.append(header_row(self.ws, labels))

    def total_row(
        self, label: str, columns: list[tuple[str, bool]], first: int, last: int
    ) -> int:
        cells = [text_cell(self.ws, label, font=BOLD)]
        for letter, money in columns:
            formula = f"=SUM({letter}{first}:{letter}{last})" if last >= first else "=0"
            cells.append(
                formula_cell(self.ws, formula, money=money, font=BOLD, fill=TOTAL_FILL)
            )
        return self.append(cells)


# --- Household Support Fund ---------------------------------------------------------------


def build_hsf_workbook(
    context: ReturnContext, figures: dict, rows: Iterable[tuple], count: int
) -> Workbook:
    """Cover, Summary (spend, volumes, households, splits), Governance, Transactions."""
    workbook = new_workbook()
    write_cover(workbook, context)
    ws = workbook.create_sheet("Summary")
    print_setup(ws)
    set_widths(ws, [42, 24, 24, 24, 24, 16])
    ws.freeze_panes = "B2"
    out = RowWriter(ws)
    groups = [GROUP_LABELS[g] for g in GROUP_ORDER]
    last_group = get_column_letter(1 + len(groups))
    categories = figures["categories"]

    def grid(title: str, value_column: str, money: bool, row_label: str) -> None:
        out.title(title)
        header = out.heading([row_label, *groups, "Total"])
        first = out.row + 1
        for category in categories:
            row = out.row + 1
            cells = [text_cell(ws, category)]
            for column in range(2, 2 + len(groups)):
                letter = get_column_letter(column)
                cells.append(
                    formula_cell(
                        ws,
                        _sumifs(
                            value_column,
                            count,
                            ("Funder category", f'"="&$A{row}'),
                            ("Household group", f'"="&{letter}${header}'),
                        ),
                        money=money,
                    )
                )
            cells.append(
                formula_cell(
                    ws, f"=SUM(B{row}:{last_group}{row})", money=money, font=BOLD
                )
            )
            out.append(cells)
        last = out.row
        out.total_row(
            "Total",
            [(get_column_letter(c), money) for c in range(2, 3 + len(groups))],
            first,
            last,
        )
        out.blank()

    grid(
        "Spend by HSF category and household group",
        "Amount",
        True,
        "HSF category (spend £)",
    )
    grid("Number of awards (volumes)", "Awards", False, "HSF category (awards)")

    out.title("Households helped")
    header = out.heading(["Households helped (each counted once)", *groups, "Total"])
    row = out.row + 1
    cells = [text_cell(ws, "Households")]
    for column in range(2, 2 + len(groups)):
        letter = get_column_letter(column)
        cells.append(
            formula_cell(
                ws,
                _sumifs(
                    "New beneficiary",
                    count,
                    ("Household group", f'"="&{letter}${header}'),
                ),
            )
        )
    cells.append(formula_cell(ws, f"=SUM(B{row}:{last_group}{row})", font=BOLD))
    out.append(cells)
    out.blank()

    for title, column, values in (
        ("By delivery method", "Delivery method", figures["delivery"]),
        ("By access route", "Access route", figures["access"]),
    ):
        out.title(title)
        out.heading([column, "Spend", "Awards"])
        first = out.row + 1
        for label in values:
            row = out.row + 1
            criterion = f'"="&$A{row}' if label != "Not recorded" else '""'
            out.append(
                [
                    text_cell(ws, label),
                    formula_cell(
                        ws, _sumifs("Amount", count, (column, criterion)), money=True
                    ),
                    formula_cell(ws, _sumifs("Awards", count, (column, criterion))),
                ]
            )
        out.total_row("Total", [("B", True), ("C", False)], first, out.row)
        out.blank()

    out.title("Check")
    out.heading(["Totals over every ledger line in the period", "Value"])
    out.append(
        [
            text_cell(ws, "Total spend in the period (all ledger lines)"),
            formula_cell(ws, f"=SUM({_range('Amount', count)})", money=True, font=BOLD),
        ]
    )
    out.append(
        [
            text_cell(ws, "Total awards in the period (net of reversals)"),
            formula_cell(ws, f"=SUM({_range('Awards', count)})", font=BOLD),
        ]
    )

    gov = workbook.create_sheet("Governance")
    print_setup(gov)
    set_widths(gov, [36, 40, 24, 16])
    gov.append([text_cell(gov, "Governance and sign-off", font=TITLE)])
    gov.append([])
    gov.append(
        [
            text_cell(
                gov,
                "We confirm that the figures in this return are the actual value of awards made to "
                "households in the period, net of reversals, and that the grant was used in line "
                "with its conditions.",
            )
        ]
    )
    gov.append([])
    gov.append(header_row(gov, ["Role", "Name", "Signature", "Date"]))
    gov.append(
        [
            text_cell(gov, "Prepared by"),
            text_cell(gov, context.prepared_by),
            text_cell(gov, ""),
            date_cell(gov, context.prepared_on),
        ]
    )
    for role in (
        "Checked by (finance)",
        "Approved by (manager or trustee)",
        "Section 151 officer / funder contact",
    ):
        gov.append(
            [
                text_cell(gov, role),
                text_cell(gov, ""),
                text_cell(gov, ""),
                text_cell(gov, ""),
            ]
        )

    write_transactions(workbook, rows, count)
    return workbook


# --- budget against actual -----------------------------------------------------------------


def build_budget_workbook(
    context: ReturnContext, figures: dict, rows: Iterable[tuple], count: int
) -> Workbook:
    """Cover, Summary (budget lines, variance, beneficiaries, demographics), Transactions."""
    workbook = new_workbook()
    write_cover(workbook, context)
    ws = workbook.create_sheet("Summary")
    print_setup(ws)
    set_widths(ws, [34, 16, 18, 18, 16, 44])
    ws.freeze_panes = "B2"
    out = RowWriter(ws)
    out.title("Budget against actual")
    out.heading(
        [
            "Budget line",
            "Budget",
            "Spend in period",
            "Spend to date",
            "Variance (budget − to date)",
            "Explanation of variance",
        ]
    )
    first = out.row + 1
    for item in figures["lines"]:
        row = out.row + 1
        budget = item["budget"]
        out.append(
            [
                text_cell(ws, item["line"]),
                money_cell(ws, budget)
                if budget is not None
                else text_cell(ws, "No budget line"),
                formula_cell(
                    ws,
                    _sumifs(
                        "Amount",
                        count,
                        ("Spend category", f'"="&$A{row}'),
                        ("In period", "1"),
                    ),
                    money=True,
                ),
                formula_cell(
                    ws,
                    _sumifs("Amount", count, ("Spend category", f'"="&$A{row}')),
                    money=True,
                ),
                formula_cell(
                    ws, f"=IF(ISNUMBER(B{row}),B{row}-D{row},-D{row})", money=True
                ),
                text_cell(ws, ""),
            ]
        )
    totals = out.total_row(
        "Total", [("B", True), ("C", True), ("D", True), ("E", True)], first, out.row
    )
    out.blank()
    grant_total = out.append(
        [text_cell(ws, "Grant total", font=BOLD), money_cell(ws, figures["total"])]
    )
    out.append(
        [
            text_cell(ws, "Not allocated to a budget line", font=BOLD),
            money_cell(ws, figures["unallocated"]),
        ]
    )
    out.append(
        [
            text_cell(ws, "Grant remaining after spend to date", font=BOLD),
            formula_cell(ws, f"=B{grant_total}-D{totals}", money=True, font=BOLD),
        ]
    )
    out.blank()
    out.title("Beneficiaries helped in the period (each counted once)")
    out.heading(["Who", "Number"])
    new = _range("New beneficiary", count)
    who = _range("Beneficiary", count)
    out.append([text_cell(ws, "All beneficiaries"), formula_cell(ws, f"=SUM({new})")])
    out.append(
        [
            text_cell(ws, "Households"),
            formula_cell(ws, f'=COUNTIFS({new},1,{who},"H-*")'),
        ]
    )
    out.append(
        [
            text_cell(ws, "Young people"),
            formula_cell(ws, f'=COUNTIFS({new},1,{who},"YP-*")'),
        ]
    )
    out.blank()
    out.title("Young people helped: demographics (counts under 5 shown as <5)")
    for heading, counts in figures["demographics"].items():
        out.heading([heading, "Young people"])
        for label, number in counts.items():
            shown = suppressed(number)
            value = (
                text_cell(ws, shown)
                if isinstance(shown, str)
                else number_cell(ws, shown)
            )
            out.append([text_cell(ws, label), value])
        out.blank()
    write_transactions(workbook, rows, count)
    return workbook


# --- activity programme --------------------------------------------------------------------

SESSION_COLUMNS = [
    "Date",
    "Session ID",
    "Activity",
    "Ledger ID",
    "Cost",
    "Places",
    "Session minutes",
    "Contact minutes",
    "Carers",
]
ATTENDANCE_COLUMNS = [
    "Date",
    "Session ID",
    "Activity",
    "Young person",
    "Age band",
    "Gender",
    "First in programme",
    "First at activity",
]


def _hours_cell(ws, formula: str):
    cell = formula_cell(ws, formula)
    cell.number_format = "0.0"
    return cell


def _col(columns: list[str], name: str) -> str:
    return get_column_letter(columns.index(name) + 1)


def _sheet_range(sheet: str, columns: list[str], name: str, rows: int) -> str:
    letter = _col(columns, name)
    return f"{sheet}!${letter}$2:${letter}${max(rows + 1, 2)}"


def build_activities_workbook(
    context: ReturnContext,
    figures: dict,
    rows: Iterable[tuple],
    count: int,
    sessions: list[tuple],
    attendances: list[tuple],
) -> Workbook:
    """Cover, Summary (by activity, totals, age x gender, budget), Sessions, Attendance, Transactions."""
    workbook = new_workbook()
    write_cover(workbook, context)
    ws = workbook.create_sheet("Summary")
    print_setup(ws)
    set_widths(ws, [30, 14, 14, 16, 16, 18, 16])
    ws.freeze_panes = "B2"
    s_rows, a_rows = len(sessions), len(attendances)

    def s(name):
        return _sheet_range("Sessions", SESSION_COLUMNS, name, s_rows)

    def a(name):
        return _sheet_range("Attendance", ATTENDANCE_COLUMNS, name, a_rows)

    out = RowWriter(ws)
    out.title("Activity programme")
    out.heading(
        [
            "Activity",
            "Sessions",
            "Places (attendances)",
            "Young people (unique)",
            "Cost",
            "Cost per participant",
            "Contact hours",
        ]
    )
    for item in figures["activities"]:
        row = out.row + 1
        activity = f'"="&$A{row}'
        out.append(
            [
                text_cell(ws, item["activity"]),
                formula_cell(ws, f"=COUNTIFS({s('Activity')},{activity})"),
                formula_cell(ws, f"=SUMIFS({s('Places')},{s('Activity')},{activity})"),
                formula_cell(
                    ws, f"=SUMIFS({a('First at activity')},{a('Activity')},{activity})"
                ),
                formula_cell(
                    ws, f"=SUMIFS({s('Cost')},{s('Activity')},{activity})", money=True
                ),
                formula_cell(ws, f"=IF(D{row}=0,0,ROUND(E{row}/D{row},2))", money=True),
                _hours_cell(
                    ws,
                    f"=ROUND(SUMIFS({s('Contact minutes')},{s('Activity')},{activity})/60,1)",
                ),
            ]
        )
    out.blank()
    out.title("Programme totals")
    out.heading(["Figure", "Value"])
    sessions_row = out.append(
        [
            text_cell(ws, "Sessions"),
            formula_cell(ws, f"=COUNT({s('Session ID')})", font=BOLD),
        ]
    )
    places_row = out.append(
        [
            text_cell(ws, "Places (cumulative attendances)"),
            formula_cell(ws, f"=SUM({s('Places')})", font=BOLD),
        ]
    )
    people_row = out.append(
        [
            text_cell(ws, "Young people (unique)"),
            formula_cell(ws, f"=SUM({a('First in programme')})", font=BOLD),
        ]
    )
    cost_row = out.append(
        [
            text_cell(ws, "Cost"),
            formula_cell(ws, f"=SUM({s('Cost')})", money=True, font=BOLD),
        ]
    )
    out.append(
        [
            text_cell(ws, "Cost per participant"),
            formula_cell(
                ws,
                f"=IF(B{people_row}=0,0,ROUND(B{cost_row}/B{people_row},2))",
                money=True,
                font=BOLD,
            ),
        ]
    )
    average = formula_cell(
        ws, f"=IF(B{people_row}=0,0,ROUND(B{places_row}/B{people_row},1))", font=BOLD
    )
    average.number_format = "0.0"
    out.append([text_cell(ws, "Average sessions per young person"), average])
    hours = _hours_cell(ws, f"=ROUND(SUM({s('Contact minutes')})/60,1)")
    hours.font = BOLD
    out.append([text_cell(ws, "Contact hours (person-hours)"), hours])
    out.append(
        [
            text_cell(ws, "Accompanying parents or carers (places)"),
            formula_cell(ws, f"=SUM({s('Carers')})", font=BOLD),
        ]
    )
    assert sessions_row
    out.blank()
    out.title("Young people by age band (at their first session) and gender")
    genders = list(figures["genders"])
    header = out.heading(["Age band", *genders, "Total"])
    for band in figures["age_bands"]:
        row = out.row + 1
        cells = [text_cell(ws, band)]
        for column in range(2, 2 + len(genders)):
            letter = get_column_letter(column)
            cells.append(
                formula_cell(
                    ws,
                    f'=COUNTIFS({a("Age band")},"="&$A{row},{a("Gender")},"="&{letter}${header},'
                    f"{a('First in programme')},1)",
                )
            )
        cells.append(
            formula_cell(
                ws,
                f"=SUM(B{row}:{get_column_letter(1 + len(genders))}{row})",
                font=BOLD,
            )
        )
        out.append(cells)
    out.blank()
    out.title("Spend against budget")
    out.heading(["Spend category", "Budget", "Spend in period"])
    for item in figures["budget"]:
        row = out.row + 1
        out.append(
            [
                text_cell(ws, item["line"]),
                money_cell(ws, item["budget"])
                if item["budget"] is not None
                else text_cell(ws, "No budget line"),
                formula_cell(
                    ws,
                    _sumifs("Amount", count, ("Spend category", f'"="&$A{row}')),
                    money=True,
                ),
            ]
        )
    out.append(
        [
            text_cell(ws, "Grant total", font=BOLD),
            money_cell(ws, context.grant_total),
            formula_cell(ws, f"=SUM({_range('Amount', count)})", money=True, font=BOLD),
        ]
    )

    ss = workbook.create_sheet("Sessions")
    print_setup(ss)
    set_widths(ss, [12, 11, 22, 10, 12, 9, 13, 13, 9])
    ss.freeze_panes = "A2"
    ss.append(header_row(ss, SESSION_COLUMNS))
    for (
        on,
        ident,
        activity,
        ledger_id,
        cost,
        places,
        minutes,
        contact,
        carers,
    ) in sessions:
        ss.append(
            [
                date_cell(ss, on),
                ident,
                text_cell(ss, activity),
                ledger_id,
                money_cell(ss, cost),
                places,
                minutes,
                contact,
                carers,
            ]
        )
    add_table(ss, "tblSessions", SESSION_COLUMNS, s_rows + 1)

    at = workbook.create_sheet("Attendance")
    print_setup(at)
    set_widths(at, [12, 11, 22, 14, 12, 18, 12, 12])
    at.freeze_panes = "A2"
    at.append(header_row(at, ATTENDANCE_COLUMNS))
    for (
        on,
        ident,
        activity,
        ref,
        band,
        gender,
        first_all,
        first_activity,
    ) in attendances:
        at.append(
            [
                date_cell(at, on),
                ident,
                text_cell(at, activity),
                text_cell(at, ref),
                text_cell(at, band),
                text_cell(at, gender),
                first_all,
                first_activity,
            ]
        )
    add_table(at, "tblAttendance", ATTENDANCE_COLUMNS, a_rows + 1)

    write_transactions(workbook, rows, count)
    return workbook
