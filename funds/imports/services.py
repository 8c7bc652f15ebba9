"""Imports: upload, match columns, check every row, import all or nothing, undo as a whole.

Checking and importing are the same pass over the file through the same rules: checking
keeps nothing (the transaction is rolled back), importing keeps everything or, at the
first problem, nothing. Both run as background jobs (funds.imports.jobs).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, exists, insert, select

from funds.audit import record_event
from funds.database import begin_writing, bulk_insert, writes
from funds.errors import FundsError, NotAllowed, ValidationError
from funds.extensions import db
from funds.imports import awards, grants, people, sessions  # noqa: F401 - the kinds
from funds.imports.cells import CellError, shown
from funds.imports.kinds import KINDS, SOURCE_KEY, Context, Kind, RowProblem
from funds.jobs import new_job
from funds.models import (
    ImportMapping,
    ImportProblem,
    ImportRecord,
    ImportRun,
    ImportStatus,
    Job,
    JobStatus,
    Role,
    User,
)
from funds.models.base import utcnow
from funds.spreadsheets import IMPORTS, SUFFIXES, Table, open_table

#: Who imports: managers and administrators.
IMPORTERS = frozenset({Role.MANAGER, Role.ADMIN})
#: The most problems kept for the page and the errors file (all are counted).
PROBLEMS_KEPT = 5_000


def _require_importer(actor: User) -> None:
    if actor.role not in IMPORTERS:
        raise NotAllowed("Only a manager or an administrator can import spreadsheets")


def kind_of(run: ImportRun) -> Kind:
    return KINDS[run.kind]


# --- upload and columns ---------------------------------------------------------------------


def _normal(heading: str) -> str:
    heading = re.sub(r"\(optional\)|\*", "", heading.lower())
    return " ".join(re.sub(r"[_\-:]+", " ", heading).split())


def guess_mapping(kind: Kind, header: list[str]) -> dict[str, int]:
    """Each field's column, found by its heading (the template's, or a usual alias)."""
    by_heading: dict[str, int] = {}
    for index, heading in enumerate(header):
        by_heading.setdefault(_normal(heading), index)
    mapping = {}
    for item in kind.fields:
        for name in (item.label, item.key.replace("_", " "), *item.aliases):
            index = by_heading.get(_normal(name))
            if index is not None and index not in mapping.values():
                mapping[item.key] = index
                break
    return mapping


def mapping_from_saved(saved: ImportMapping, header: list[str]) -> dict[str, int]:
    """A saved mapping applied to this file's headings (fields whose heading is missing
    are left out)."""
    positions = {heading: index for index, heading in enumerate(header)}
    return {
        key: positions[heading]
        for key, heading in saved.columns.items()
        if heading in positions
    }


@writes
def upload(kind_key: str, filename: str, data: bytes, *, actor: User) -> ImportRun:
    """Keep an uploaded file (after the same safety checks as any upload) and guess its
    columns.

    :raises ValidationError: on ``file`` for an unreadable, unsafe or empty file.
    """
    _require_importer(actor)
    if kind_key not in KINDS:
        raise ValidationError("Choose what the file holds", field="kind")
    if not filename.lower().endswith(SUFFIXES):
        raise ValidationError("Upload a .xlsx, .ods, .xls or .csv file", field="file")
    table = open_table(filename, data, field="file", limits=IMPORTS)
    if not any(table.header):
        raise ValidationError("The file is empty", field="file")
    kind = KINDS[kind_key]
    run = ImportRun(
        kind=kind_key,
        filename=filename[-200:],
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        header=table.header,
        formula_columns=sorted(table.formula_columns),
        mapping=guess_mapping(kind, table.header),
        counts={"rows": table.height},
        created_by_id=actor.id,
    )
    db.session.add(run)
    db.session.flush()
    record_event(
        "import.upload",
        actor=actor,
        obj=run,
        after={"kind": kind_key, "file": run.filename, "sha256": run.sha256},
    )
    return run


@writes
def set_mapping(
    run: ImportRun, mapping: dict[str, int], *, actor: User, save_as: str | None = None
) -> ImportRun:
    """Record which column holds each field; optionally save it by name for next time.

    :raises ValidationError: for a required field left out, or one column used twice.
    """
    _require_importer(actor)
    _require_status(run, ImportStatus.UPLOADED, ImportStatus.CHECKED)
    kind = kind_of(run)
    for item in kind.fields:
        if item.required and mapping.get(item.key) is None:
            raise ValidationError(
                f"Choose the column that holds “{item.label}”", field=item.key
            )
    used: dict[int, str] = {}
    for key, index in mapping.items():
        if index is None:
            continue
        if not 0 <= index < len(run.header):
            raise ValidationError("Choose a column of the file", field=key)
        if index in used:
            raise ValidationError(
                f"“{run.header[index]}” is already used for {kind.field(used[index]).label}",
                field=key,
            )
        used[index] = key
    run.mapping = {key: index for key, index in mapping.items() if index is not None}
    run.mapped = True
    run.status = ImportStatus.UPLOADED
    if save_as:
        _save_mapping(run, save_as, actor)
    return run


def _save_mapping(run: ImportRun, name: str, actor: User) -> None:
    columns = {key: run.header[index] for key, index in run.mapping.items()}
    saved = db.session.scalar(
        select(ImportMapping).where(
            ImportMapping.kind == run.kind, ImportMapping.name == name
        )
    )
    if saved is None:
        db.session.add(
            ImportMapping(
                kind=run.kind, name=name, columns=columns, created_by_id=actor.id
            )
        )
    else:
        saved.columns = columns
    record_event(
        "import.save_mapping",
        actor=actor,
        obj=run,
        after={"kind": run.kind, "name": name, "columns": columns},
    )


def _require_status(run: ImportRun, *allowed: ImportStatus) -> None:
    if run.status not in allowed:
        raise NotAllowed(
            f"This import is {run.status.value}: it cannot be changed now",
            field="import",
        )


def _busy(run: ImportRun) -> bool:
    """A job is already working on this import (one that has not finished or died)."""
    if run.job_id is None:
        return False
    from funds.jobs import job_view

    job = db.session.get(Job, run.job_id)
    return job is not None and job_view(job).state in ("queued", "running")


# --- asking for the work ---------------------------------------------------------------------


@writes
def request(
    run: ImportRun, what: str, *, actor: User, reason: str | None = None
) -> Job:
    """Queue checking, importing or undoing (the caller commits, then starts the job).

    :raises NotAllowed: when the import is not in a state to do it, or is busy.
    """
    _require_importer(actor)
    if _busy(run):
        raise NotAllowed(
            "This import is already being worked on: wait for it to finish"
        )
    kind = kind_of(run)
    if what == "check":
        if not run.mapped:
            raise NotAllowed("Match the columns first", field="import")
        _require_status(run, ImportStatus.UPLOADED, ImportStatus.CHECKED)
        title = f"Checking {run.filename} ({kind.noun})"
    elif what == "import":
        _require_status(run, ImportStatus.CHECKED)
        if run.counts.get("errors"):
            raise NotAllowed(
                "Fix the rows with problems and upload the file again: nothing is "
                "imported while any row has a problem",
                field="import",
            )
        if not run.counts.get("new"):
            raise NotAllowed(
                "There is nothing new in this file to import", field="import"
            )
        title = f"Importing {run.counts['new']:,} {kind.noun} from {run.filename}"
    elif what == "undo":
        _require_status(run, ImportStatus.IMPORTED)
        if not (reason and reason.strip()):
            raise ValidationError("Say why this import is being undone", field="reason")
        title = f"Undoing import #{run.id} ({run.filename})"
    else:
        raise ValueError(what)
    job = new_job(
        f"import.{what}",
        title=title,
        actor=actor,
        params={"import_id": run.id, "reason": (reason or "").strip()},
    )
    run.job_id = job.id
    return job


# --- one pass over the file ---------------------------------------------------------------


@dataclass
class PassResult:
    rows: int = 0
    new: int = 0
    existing: int = 0
    errors: int = 0
    problems: list[tuple[int, str, str, str]] = field(default_factory=list)
    created: list[tuple[int, str, int]] = field(default_factory=list)

    def problem(self, row: int, column: str, value: str, message: str) -> None:
        if len(self.problems) < PROBLEMS_KEPT:
            self.problems.append((row, column, value, message))


def _fingerprint(cells: list, columns: list[int], seen: dict[str, int]) -> str:
    """A key for a row with no id of its own: its values, and how many identical rows
    came before it in the file (so two identical awards stay two)."""
    digest = hashlib.sha256(
        "\x1f".join(shown(cells[index]) for index in columns).encode("utf-8")
    ).hexdigest()[:40]
    occurrence = seen.get(digest, 0) + 1
    seen[digest] = occurrence
    return f"row:{digest}:{occurrence}"


#: The most distinct values of one column whose parsing is remembered in a pass.
MEMO_SIZE = 20_000


def stored_table(run: ImportRun) -> Table:
    """The import's file as kept at upload (checked then; not scanned again)."""
    return open_table(run.filename, run.data, limits=IMPORTS, checked=True)


def run_pass(
    run: ImportRun, *, write: bool, actor: User, today: date, progress
) -> PassResult:
    """Every row through the kind's rules; with ``write``, what it makes is kept (the
    caller commits or rolls back the whole)."""
    kind = kind_of(run)
    table = stored_table(run)
    mapping: dict[str, int] = run.mapping
    heading = {key: run.header[index] for key, index in mapping.items()}
    result = PassResult()
    for key, index in mapping.items():
        if index in run.formula_columns:
            result.errors += 1
            result.problem(
                table.header_row,
                heading[key],
                "",
                "This column holds formulas: copy it and paste the values instead",
            )
    if result.errors:
        return result
    existing = set(
        db.session.scalars(
            select(ImportRecord.source_key).where(ImportRecord.kind == run.kind)
        )
    )
    ctx = Context(actor=actor, today=today, write=write, import_id=run.id)
    kind.prepare(ctx, table.height)
    columns = sorted(mapping.values())
    parsed: dict[str, dict] = {item.key: {} for item in kind.fields}
    fingerprints: dict[str, int] = {}
    keys: dict[str, int] = {}
    total = table.height
    progress.update(0, total, stage="Checking rows" if not write else "Importing rows")
    for done, (number, cells) in enumerate(table.rows(), start=1):
        result.rows += 1
        values, bad = {}, False
        for item in kind.fields:
            index = mapping.get(item.key)
            cell = cells[index] if index is not None else None
            # Columns repeat their values (the grant, the item, the date...): each value
            # is parsed once. The class is in the key: 1, 1.0 and True are equal.
            seen = parsed[item.key]
            memo = (cell.__class__, cell)
            outcome = seen.get(memo)
            if outcome is None:
                try:
                    outcome = (True, item.parse(cell))
                except CellError as error:
                    outcome = (False, error.message)
                if len(seen) < MEMO_SIZE:
                    seen[memo] = outcome
            if not outcome[0]:
                result.problem(number, heading[item.key], shown(cell), outcome[1])
                bad = True
                continue
            values[item.key] = outcome[1]
            if item.required and values[item.key] is None:
                result.problem(
                    number, heading[item.key], "", f"Enter the {item.label.lower()}"
                )
                bad = True
        source_key = values.get(SOURCE_KEY) or _fingerprint(
            cells, columns, fingerprints
        )
        if source_key in existing:
            result.existing += 1
            progress.update(done)
            continue
        if source_key in keys and values.get(SOURCE_KEY):
            result.problem(
                number,
                heading.get(SOURCE_KEY, ""),
                source_key,
                f"Row {keys[source_key]} has the same id: each row needs its own",
            )
            bad = True
        keys.setdefault(source_key, number)
        if not bad:
            try:
                if kind.per_row_savepoint:
                    with db.session.begin_nested():
                        kind.row(ctx, number, values, source_key)
                else:
                    kind.row(ctx, number, values, source_key)
            except RowProblem as problem:
                column = heading.get(problem.field, "") if problem.field else ""
                value = (
                    shown(cells[mapping[problem.field]])
                    if problem.field in mapping
                    else ""
                )
                result.problem(number, column, value, problem.message)
                bad = True
            except FundsError as error:
                result.problem(number, "", "", error.message)
                bad = True
        if bad:
            result.errors += 1
        else:
            result.new += 1
        progress.update(done)
    kind.finish(ctx)
    result.created = ctx.created
    progress.update(total, total)
    return result


def _keep_problems(run: ImportRun, result: PassResult) -> None:
    db.session.execute(delete(ImportProblem).where(ImportProblem.import_id == run.id))
    if result.problems:
        db.session.execute(
            insert(ImportProblem),
            [
                {
                    "import_id": run.id,
                    "row": row,
                    "column": column[:200],
                    "value": value[:1000],
                    "message": message,
                }
                for row, column, value, message in result.problems
            ],
        )


def _counts(result: PassResult) -> dict:
    return {
        "rows": result.rows,
        "new": result.new,
        "existing": result.existing,
        "errors": result.errors,
    }


# --- the jobs' work -------------------------------------------------------------------------


def check(run_id: int, *, actor: User, today: date, progress) -> None:
    """Check every row; keep the counts and the problems, nothing else. Kinds whose rows
    are tried through the services (and rolled back) hold the write lock meanwhile;
    awards are checked in a read transaction, which never holds anyone up."""
    run = db.session.get(ImportRun, run_id)
    if kind_of(run).per_row_savepoint:
        begin_writing()
        run = db.session.get(ImportRun, run_id)
    result = run_pass(run, write=False, actor=actor, today=today, progress=progress)
    db.session.rollback()  # whatever the services wrote while checking
    begin_writing()
    run = db.session.get(ImportRun, run_id)
    _keep_problems(run, result)
    run.counts = _counts(result)
    run.status = ImportStatus.CHECKED
    run.checked_at = utcnow()
    record_event("import.check", actor=actor, obj=run, after=run.counts)
    db.session.commit()


def commit(run_id: int, *, actor: User, today: date, progress) -> None:
    """Import every new row in one transaction, or nothing.

    :raises ValidationError: when a row has a problem now (the import is checked again so
        that the page shows it); nothing is imported.
    """
    begin_writing()
    run = db.session.get(ImportRun, run_id)
    if run.status != ImportStatus.CHECKED:
        raise NotAllowed("This import was already imported or undone")
    result = run_pass(run, write=True, actor=actor, today=today, progress=progress)
    if result.errors:
        db.session.rollback()
        begin_writing()
        run = db.session.get(ImportRun, run_id)
        _keep_problems(run, result)
        run.counts = _counts(result)
        run.checked_at = utcnow()
        db.session.commit()
        first = result.problems[0] if result.problems else (0, "", "", "a problem")
        raise ValidationError(
            f"Nothing was imported: row {first[0]} has a problem now ({first[3]}). "
            "The rows with problems are listed on the import's page."
        )
    progress.update(result.rows, result.rows, stage="Keeping a record of each row")
    if result.created:
        bulk_insert(
            ImportRecord,
            [
                {
                    "import_id": run.id,
                    "kind": run.kind,
                    "source_key": key,
                    "row": row,
                    "object_id": object_id,
                }
                for row, key, object_id in result.created
            ],
        )
    run.counts = _counts(result)
    run.status = ImportStatus.IMPORTED
    run.imported_at = utcnow()
    run.imported_by_id = actor.id
    _keep_problems(run, result)
    record_event(
        "import.commit",
        actor=actor,
        obj=run,
        after={**run.counts, "kind": run.kind, "file": run.filename},
    )
    db.session.commit()


def undo(run_id: int, *, actor: User, today: date, reason: str, progress) -> None:
    """Take an import back as a whole (see each kind's ``undo``)."""
    begin_writing()
    run = db.session.get(ImportRun, run_id)
    if run.status != ImportStatus.IMPORTED:
        raise NotAllowed("Only an import that went in can be undone")
    progress.update(0, 1, stage="Undoing")
    kind = kind_of(run)
    counts = kind.undo(run, actor, today)
    records = delete(ImportRecord).where(ImportRecord.import_id == run.id)
    if kind.kept_model is not None:
        records = records.where(
            ~exists().where(kind.kept_model.id == ImportRecord.object_id)
        )
    db.session.execute(records)
    run.status = ImportStatus.UNDONE
    run.undone_at = utcnow()
    run.undone_by_id = actor.id
    run.undo_reason = reason
    run.counts = {**run.counts, "undone": counts}
    record_event(
        "import.undo",
        actor=actor,
        obj=run,
        after={"reason": reason, **counts},
    )
    db.session.commit()
    progress.update(1, 1)


def job_for(run: ImportRun) -> Job | None:
    return db.session.get(Job, run.job_id) if run.job_id else None


def finished_job(job: Job | None) -> bool:
    return job is None or job.status in (JobStatus.DONE, JobStatus.FAILED)
