"""The evidence pack: one zip per grant and period holding the manifest workbook, the
evidence files, the funder return and an audit summary. Written as a stream to a file
(never held whole in memory); references only, never a name of a person helped.

Building only reads; ``record_pack`` writes the audit event (``evidence.pack``). A large
pack is built by the job worker (``evidence.pack`` jobs) into ``instance/evidence-packs``
and downloaded from the job's page.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from flask import current_app, url_for

from funds import job_files
from funds.audit import record_event
from funds.database import begin_writing
from funds.errors import FundsError, ValidationError
from funds.evidence import storage
from funds.evidence.pack_manifest import (
    ManifestFacts,
    PackFile,
    PackFiles,
    readme_text,
    text_file,
    write_audit_summary,
    write_manifest,
)
from funds.evidence.pack_queries import (
    count_lines,
    evidence_files,
    included_bytes,
    latest_return,
    period_total,
)
from funds.evidence.queries import why_not_downloadable
from funds.extensions import db
from funds.jobs import handler, new_job
from funds.models import EvidenceKind, Grant, Job, User
from funds.models.base import utcnow
from funds.returns.definition import Definition
from funds.returns.library import get_definition
from funds.returns.services import submitted_definition, write_return

#: A pack over more ledger lines or more bytes of files than this is built by the job
#: worker (``EVIDENCE_PACK_MAX_LINES`` / ``EVIDENCE_PACK_MAX_BYTES`` override them).
MAX_LINES_AT_ONCE = 2_000
MAX_BYTES_AT_ONCE = 50 * 1024 * 1024
#: The years a pack's period may fall in (anything else is a typing slip).
YEARS = (1900, 2100)
#: Already compressed: stored in the zip as they are.
_STORED_TYPES = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,5})$")
_CHUNK = 1024 * 1024
#: What a download's name may not hold (dots too: no "..").
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+", re.ASCII)


def check_pack_period(grant: Grant, date_from: date, date_to: date) -> None:
    """The period is a real span that overlaps the grant's.

    :raises ValidationError: on ``date_from`` / ``date_to``.
    """
    first, last = YEARS
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if not first <= day.year <= last:
            raise ValidationError(
                f"Enter a year between {first} and {last}", field=name
            )
    if date_to < date_from:
        raise ValidationError(
            "The end of the period must be on or after its start", field="date_to"
        )
    if date_to < grant.starts_on or date_from > grant.ends_on:
        raise ValidationError(
            "The period must overlap the grant's period, "
            f"{grant.starts_on:%-d %B %Y} to {grant.ends_on:%-d %B %Y}",
            field="date_from" if date_from > grant.ends_on else "date_to",
        )


def pack_filename(grant: Grant, date_from: date, date_to: date) -> str:
    """``evidence-pack-C4C-HSF4-2024-04-01-to-2024-06-30.zip`` (a safe slug)."""
    reference = _UNSAFE.sub("-", grant.reference).strip("-") or "grant"
    return (
        f"evidence-pack-{reference}-"
        f"{date_from.isoformat()}-to-{date_to.isoformat()}.zip"
    )


def is_large(grant: Grant, date_from: date, date_to: date) -> bool:
    """Whether the pack is built in the background rather than while the user waits."""
    config = current_app.config
    max_lines = int(config.get("EVIDENCE_PACK_MAX_LINES", MAX_LINES_AT_ONCE))
    max_bytes = int(config.get("EVIDENCE_PACK_MAX_BYTES", MAX_BYTES_AT_ONCE))
    if count_lines(grant.id, date_from, date_to) > max_lines:
        return True
    return included_bytes(grant.id, date_from, date_to)[1] > max_bytes


# --- the funder return -------------------------------------------------------------------


def pack_definition(grant: Grant, key: str | None) -> tuple[Definition | None, str]:
    """The return to include: the one chosen, else the one last submitted for the grant.
    (None, why) when there is none."""
    if key:
        try:
            return get_definition(key), ""
        except LookupError:
            return None, f"there is no return definition {key!r}."
    submitted = latest_return(grant.id)
    if submitted is None:
        return None, (
            "no return has been submitted for this grant yet and none was chosen. "
            "Choose one when building the pack to include it."
        )
    if submitted.is_legacy:
        return None, (
            "the grant's last return was submitted before return definitions, so it "
            "cannot be built again. Choose a return when building the pack."
        )
    return submitted_definition(submitted), ""


def _funder_return(
    grant: Grant,
    definition: Definition | None,
    reason: str,
    facts: ManifestFacts,
    target,
) -> tuple[str | None, str]:
    """(file name, why not) for the pack's funder return, written to ``target``."""
    if definition is None:
        return None, reason
    try:
        written = write_return(
            grant,
            definition=definition,
            date_from=facts.date_from,
            date_to=facts.date_to,
            prepared_by=facts.prepared_by,
            prepared_on=facts.built_at.date(),
            target=target,
        )
    except FundsError as error:
        return None, f"the {definition.title} return was refused: {error.message}"
    return written.filename, ""


# --- the evidence files ------------------------------------------------------------------


def _extension(content_type: str, original_name: str) -> str:
    if content_type in _STORED_TYPES:
        return _STORED_TYPES[content_type]
    match = _EXTENSION.search(original_name or "")
    return match.group(1).lower() if match else "bin"


def _stem(kind: EvidenceKind, record_id: int | None) -> str:
    return {
        EvidenceKind.AWARD: f"{record_id}",
        EvidenceKind.VOUCHER_BATCH: f"batch-{record_id}",
        EvidenceKind.SESSION: f"session-{record_id}",
        EvidenceKind.AGREEMENT: "agreement",
    }[kind]


def _record_id(row) -> int | None:
    return {
        EvidenceKind.AWARD: row.disbursement_id,
        EvidenceKind.VOUCHER_BATCH: row.voucher_batch_id,
        EvidenceKind.SESSION: row.session_id,
        EvidenceKind.AGREEMENT: None,
    }[row.kind]


def _left_out(row, removed_by: str | None) -> str:
    """Why a file is not put in the pack ("" when it is): the files that may not be
    downloaded (``why_not_downloadable``, the one rule) stay out. A removal says when
    and by whom, never the reason typed (it may name the person helped)."""
    if row.removed_at is not None:
        return f"Removed {row.removed_at:%Y-%m-%d %H:%M} UTC by {removed_by or 'the system'}"
    if why_not_downloadable(row) is not None:
        return f"Not included: {row.scan_status.label}"
    return ""


def _copy_file(out: zipfile.ZipFile, row, name: str) -> tuple[str, str]:
    """Copy the stored bytes into the zip a piece at a time; (sha256, note)."""
    info = zipfile.ZipInfo(name, date_time=row.uploaded_at.timetuple()[:6])
    info.compress_type = (
        zipfile.ZIP_STORED
        if row.content_type in _STORED_TYPES
        else zipfile.ZIP_DEFLATED
    )
    digest = hashlib.sha256()
    with (
        storage.path_for(row.stored_name).open("rb") as source,
        out.open(info, "w", force_zip64=True) as target,
    ):
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            target.write(chunk)
    sha = digest.hexdigest()
    note = ""
    if sha != row.sha256:
        note = (
            "Its bytes differ from those uploaded (SHA-256 when uploaded: "
            f"{row.sha256})"
        )
    return sha, note


def add_evidence(
    out: zipfile.ZipFile, grant: Grant, date_from: date, date_to: date
) -> PackFiles:
    """Put the pack's evidence files in ``evidence/`` and say what became of each."""
    files = PackFiles()
    numbers: dict[tuple, int] = {}
    for row, uploaded_by, removed_by in evidence_files(grant.id, date_from, date_to):
        record_id = _record_id(row)
        key = (row.kind, record_id)
        numbers[key] = numbers.get(key, 0) + 1
        note = _left_out(row, removed_by)
        name, sha = None, row.sha256
        if not note:
            name = (
                f"evidence/{_stem(row.kind, record_id)}-{numbers[key]}."
                f"{_extension(row.content_type, row.original_name)}"
            )
            try:
                sha, note = _copy_file(out, row, name)
            except FileNotFoundError:
                name, note = None, "Not included: the file is missing from storage"
        files.add(
            PackFile(
                kind=row.kind,
                record_id=record_id,
                name=name,
                sha256=sha,
                size=row.size_bytes,
                content_type=row.content_type,
                uploaded_by=uploaded_by,
                uploaded_at=row.uploaded_at,
                scan=row.scan_status.label,
                note=note,
            )
        )
    return files


# --- the pack ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuiltPack:
    """What went into a pack."""

    filename: str
    lines: int
    files: int
    left_out: int
    total: Decimal
    funder_return: str | None


def build_pack(
    grant: Grant,
    date_from: date,
    date_to: date,
    target,
    *,
    prepared_by: str,
    template: str | None = None,
) -> BuiltPack:
    """Write the grant's evidence pack for the period to ``target`` (a seekable binary
    file). Reads only.

    :raises ValidationError: for a period that is not a real span overlapping the grant's.
    """
    check_pack_period(grant, date_from, date_to)
    definition, reason = pack_definition(grant, template)
    facts = ManifestFacts(
        grant=grant,
        date_from=date_from,
        date_to=date_to,
        total=period_total(grant.id, date_from, date_to),
        prepared_by=prepared_by,
        built_at=utcnow(),
        funder_return="",
    )
    with tempfile.TemporaryFile() as workbook:
        return_name, reason = _funder_return(grant, definition, reason, facts, workbook)
        facts = replace(facts, funder_return=return_name or f"Not included: {reason}")
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as out:
            files = add_evidence(out, grant, date_from, date_to)
            with tempfile.TemporaryFile() as spool:
                counts = write_manifest(spool, facts, files)
                spool.seek(0)
                with out.open("manifest.xlsx", "w", force_zip64=True) as member:
                    shutil.copyfileobj(spool, member, _CHUNK)
            if return_name is not None:
                workbook.seek(0)
                with out.open(return_name, "w", force_zip64=True) as member:
                    shutil.copyfileobj(workbook, member, _CHUNK)
            else:
                out.writestr(
                    "return-not-included.txt",
                    text_file(f"The funder return is not in this pack: {reason}\n"),
                )
            _finish_pack(out, grant, date_from, date_to, facts, return_name, reason)
    return BuiltPack(
        pack_filename(grant, date_from, date_to),
        counts.lines,
        files.included,
        files.left_out,
        facts.total,
        return_name,
    )


def _finish_pack(
    out: zipfile.ZipFile,
    grant: Grant,
    date_from: date,
    date_to: date,
    facts: ManifestFacts,
    return_name: str | None,
    reason: str,
) -> None:
    """The audit summary and the README, last in the pack."""
    with out.open("audit-summary.csv", "w", force_zip64=True) as member:
        text = io.TextIOWrapper(member, encoding="utf-8", newline="")
        write_audit_summary(text, grant, date_from, date_to)
        text.flush()
        text.detach()
    out.writestr("README.txt", text_file(readme_text(facts, return_name, reason)))


def record_pack(
    grant: Grant,
    *,
    actor: User | None,
    date_from: date,
    date_to: date,
    built: BuiltPack,
) -> None:
    """Audit the pack (``evidence.pack``); the caller commits."""
    begin_writing()
    record_event(
        "evidence.pack",
        actor=actor,
        obj=db.session.get(Grant, grant.id),
        after={
            "grant": grant.reference,
            "from": date_from,
            "to": date_to,
            "lines": built.lines,
            "files": built.files,
            "not_included": built.left_out,
            "funder_return": built.funder_return,
        },
    )


# --- in the background -------------------------------------------------------------------


def pack_folder() -> Path:
    """Where the worker leaves packs for their owners (outside static/)."""
    return job_files.folder("evidence-packs")


def job_pack_path(job: Job) -> Path:
    return pack_folder() / f"job-{int(job.id)}.zip"


def build_in_background(
    grant: Grant, date_from: date, date_to: date, *, actor: User, template: str | None
) -> Job:
    """Queue the pack's build (the caller commits, then starts the job)."""
    return new_job(
        "evidence.pack",
        title=f"Building the evidence pack for {grant.reference}, "
        f"{date_from:%-d %b %Y} to {date_to:%-d %b %Y}",
        actor=actor,
        params={
            "grant_id": grant.id,
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
            "template": template or "",
        },
    )


def _result_url(grant_id: int, job_id: int) -> str:
    """The finished pack's download page, as a path (with APPLICATION_ROOT). The worker
    runs outside any request and SERVER_NAME is unset, so url_for is given one."""
    with current_app.test_request_context():
        return url_for(
            "evidence_pack.result", grant_id=grant_id, job_id=job_id, _external=False
        )


@handler("evidence.pack")
def _build(job: Job, progress) -> None:
    params = job.params
    grant = db.session.get(Grant, params["grant_id"])
    date_from = date.fromisoformat(params["date_from"])
    date_to = date.fromisoformat(params["date_to"])
    progress.update(0, 1, stage="Collecting the evidence files and writing the pack")
    built = job_files.write_whole(
        job_pack_path(job),
        lambda target: build_pack(
            grant,
            date_from,
            date_to,
            target,
            prepared_by=job.created_by.name,
            template=params.get("template") or None,
        ),
    )
    progress.update(1, 1)
    job_id, actor_id, grant_id = job.id, job.created_by_id, grant.id
    # The build only read: end that transaction, then write with the write lock.
    db.session.rollback()
    begin_writing()
    job = db.session.get(Job, job_id)
    record_pack(
        db.session.get(Grant, grant_id),
        actor=db.session.get(User, actor_id),
        date_from=date_from,
        date_to=date_to,
        built=built,
    )
    job.result_name = built.filename
    job.result_url = _result_url(grant_id, job_id)
    db.session.commit()
