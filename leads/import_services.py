"""Writes for CSV imports: upload, column mapping, and the job that streams a file through the capture rules.

Its own module (not leads.services) because it reads files through leads.csv_files, which builds on the
capture types of leads.services.
"""

import logging
import queue
import threading
import zlib
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Exists, F, Min, OuterRef, Q, Subquery
from django.utils import timezone

from leads.csv_files import (
    TARGETS,
    CsvShape,
    NotACsvError,
    auto_mapping,
    blank,
    iter_rows,
    property_keys,
    row_to_capture,
    sniff,
)
from leads.models import LeadImport, LeadImportPart, LeadImportRejection
from leads.services import CaptureItem, CaptureStatus, ExistingLeadPolicy, leads_capture_bulk
from smarketing.models import User
from smarketing.roles import Action
from smarketing.tasks import enqueue

logger = logging.getLogger(__name__)

# Rows per transaction: one capture batch (≈5 s for 10,000 rows on PostgreSQL at load average 5, about
# half Python, half database), so the progress bar moves every few seconds and a crash loses at most one
# batch, which the next run redoes. Against 2,000-row batches, the fewer statements and commits save an
# eighth of the database time.
IMPORT_BATCH_ROWS = 10_000
# A running import whose worker has not committed a batch for this long has lost its worker.
IMPORT_STALE_AFTER = timedelta(minutes=5)
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024


def _ensure_can_import(actor: User) -> None:
    if not actor.can(Action.LEAD_IMPORT):
        raise PermissionDenied("Your role cannot import leads.")


@transaction.atomic
def lead_import_create(*, actor: User, upload: UploadedFile) -> LeadImport:
    """Stores an uploaded file that can be imported, with its columns matched; a clear error otherwise."""
    _ensure_can_import(actor)
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": "The file is larger than 1 GB; split it and import the parts."})
    upload.seek(0)
    try:
        shape = sniff(upload)
    except NotACsvError as exc:
        raise ValidationError({"file": str(exc)}) from None
    mapping = auto_mapping(shape.header, shape.preview)
    if "email" not in mapping:
        raise ValidationError({"file": "No column holds e-mail addresses (looked for a header such as “Email” or "
                                       "“E-mail Address”). Every lead needs one: add that column and upload again."})
    upload.seek(0)
    return LeadImport.objects.create(
        created_by=actor, file=upload, original_name=upload.name[:255], size=upload.size,
        encoding=shape.encoding, delimiter=shape.delimiter, header=shape.header, mapping=mapping,
    )


@transaction.atomic
def lead_import_start(*, actor: User, lead_import: LeadImport, mapping: list[str], existing: str) -> LeadImport:
    """Saves the chosen mapping and duplicate policy and queues the import job (after commit)."""
    _ensure_can_import(actor)
    if lead_import.status != LeadImport.Status.MAPPING:
        raise ValidationError("This import has already started.")
    if len(mapping) != len(lead_import.header) or set(mapping) - set(TARGETS):
        raise ValidationError("Choose what each column is.")
    if mapping.count("email") != 1:
        raise ValidationError({"mapping": "Choose exactly one column as the e-mail address."})
    fields = [target for target in mapping if target not in {"property", "drop"}]
    if len(fields) != len(set(fields)):
        twice = sorted({TARGETS[t] for t in fields if fields.count(t) > 1})
        raise ValidationError({"mapping": f"Each field can come from one column only: {', '.join(twice)}."})
    if existing not in ExistingLeadPolicy.values:
        raise ValidationError({"existing": "Choose update or skip."})
    parts = settings.IMPORT_PARTS
    LeadImport.objects.filter(pk=lead_import.pk).update(mapping=mapping, existing=existing, parts=parts,
                                                        status=LeadImport.Status.QUEUED)
    LeadImportPart.objects.bulk_create([LeadImportPart(lead_import=lead_import, number=number)
                                        for number in range(parts)])
    for number in range(parts):
        transaction.on_commit(partial(enqueue, "leads.tasks.import_leads_task", import_id=lead_import.pk, part=number))
    lead_import.refresh_from_db()
    return lead_import


def lead_import_preview(*, lead_import: LeadImport, mapping: list[str]) -> list[tuple[int, object]]:
    """The first rows as the import would store them: (line, CaptureItem or the reason it is rejected)."""
    keys = property_keys(lead_import.header)
    shape = CsvShape(encoding=lead_import.encoding, delimiter=lead_import.delimiter, header=lead_import.header)
    rows = []
    with lead_import.file.open("rb") as stored:
        for line, cells in iter_rows(stored.file, shape):
            rows.append((line, row_to_capture(cells, mapping, keys)))
            if len(rows) == 5:
                break
    return rows


@dataclass(frozen=True)
class _ImportRow:
    line: int
    cells: list[str]
    capture: CaptureItem | str  # or the reason the row is rejected


def part_of_row(cells: list[str], email_at: int, company_at: int | None, parts: int) -> int:
    """The part a row falls to: by its company name when it has one, else by its e-mail (as the capture
    normalises both).

    A company name is not unique in the table: rows that may find or create the company of one name must
    be in one part, or two parts at once would each create it. Domains need no such care (a unique column:
    a concurrent insert of the same one is skipped and read back), and neither do leads (a concurrent create
    of one e-mail is retried as an update), so an address repeated under another company name may fall to
    another part; its rows are then applied in either order.
    """
    company = cells[company_at] if company_at is not None and company_at < len(cells) else ""
    if not blank(company):
        key = "company\x1f" + company.strip().lower()
    else:
        email = cells[email_at] if email_at < len(cells) else ""
        key = "" if blank(email) else email.strip().lower()
    return zlib.crc32(key.encode()) % parts


def _mapped_batches(
    *, raw: IO[bytes], lead_import: LeadImport, part: int, skip: int,
) -> Iterator[tuple[list[_ImportRow], int]]:
    """The part's rows after its first `skip`, mapped to captures, in batches: (rows, bytes read so far).

    Every part reads the whole file; the CSV parsing is a tenth of a row's cost, the mapping (done only for
    the part's own rows) and the capture the rest."""
    shape = CsvShape(encoding=lead_import.encoding, delimiter=lead_import.delimiter, header=lead_import.header)
    keys = property_keys(lead_import.header)
    parts, mapping = lead_import.parts, lead_import.mapping
    email_at, company_at = mapping.index("email"), mapping.index("company") if "company" in mapping else None
    batch: list[_ImportRow] = []
    for line, cells in iter_rows(raw, shape):
        if parts > 1 and part_of_row(cells, email_at, company_at, parts) != part:
            continue
        if skip:
            skip -= 1
            continue
        batch.append(_ImportRow(line=line, cells=cells, capture=row_to_capture(cells, lead_import.mapping, keys)))
        if len(batch) == IMPORT_BATCH_ROWS:
            yield batch, raw.tell()
            batch = []
    if batch:
        yield batch, lead_import.size


_READ_AHEAD_END = object()


def _read_ahead(batches: Iterator[tuple[list[_ImportRow], int]]) -> Iterator[tuple[list[_ImportRow], int]]:
    """The same batches, the next one read and mapped in a thread while the caller writes the current one.

    Reading and mapping is pure Python (no database), and a batch's write spends half its time waiting on
    PostgreSQL with the GIL released: the two overlap. One batch ahead at most, so memory stays flat.
    Errors in the thread are raised here, in the caller's thread.
    """
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(entry: tuple[object, BaseException | None]) -> None:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for batch in batches:
                offer((batch, None))
                if stop.is_set():
                    return
            offer((_READ_AHEAD_END, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread, which raises it
            offer((None, exc))

    thread = threading.Thread(target=produce, name="import-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            batch, error = ready.get()
            if error is not None:
                raise error
            if batch is _READ_AHEAD_END:
                return
            yield batch
    finally:
        # The caller stopped (done, or a batch failed): the thread ends before the file it reads is closed.
        stop.set()
        thread.join()


def lead_import_run(*, import_id: int, part: int = 0) -> LeadImport | None:
    """The import job of one part: streams the file, keeping the part's rows, in batches through
    leads_capture_bulk, one transaction a batch.

    Claimed by a conditional update, so two workers never run one part; resumable, since each batch
    commits its counts and the part's position together (a restarted job skips the part's rows already
    done). The import is done when its last part is.
    """
    now = timezone.now()
    parts = LeadImportPart.objects.filter(lead_import_id=import_id)
    claimed = parts.filter(number=part).filter(
        Q(status=LeadImport.Status.QUEUED)
        | Q(status=LeadImport.Status.RUNNING, heartbeat_at__lt=now - IMPORT_STALE_AFTER)
    ).update(status=LeadImport.Status.RUNNING, heartbeat_at=now)
    if not claimed:
        return None
    # The first part to start starts the import.
    LeadImport.objects.filter(pk=import_id, status=LeadImport.Status.QUEUED).update(
        status=LeadImport.Status.RUNNING, started_at=now)
    lead_import = LeadImport.objects.select_related("created_by").get(pk=import_id)
    skip = parts.get(number=part).rows_done
    try:
        with lead_import.file.open("rb") as stored, closing(_read_ahead(
                _mapped_batches(raw=stored.file, lead_import=lead_import, part=part, skip=skip))) as batches:
            for rows, bytes_done in batches:
                _lead_import_batch(lead_import=lead_import, part=part, rows=rows, bytes_done=bytes_done)
    except Exception as exc:
        logger.exception("Import %s, part %s failed", import_id, part)
        parts.filter(number=part).update(status=LeadImport.Status.FAILED, finished_at=timezone.now())
        LeadImport.objects.filter(pk=import_id).update(
            status=LeadImport.Status.FAILED, finished_at=timezone.now(),
            error=f"The import stopped: {type(exc).__name__}: {exc}"[:500],
        )
        raise
    parts.filter(number=part).update(status=LeadImport.Status.DONE, finished_at=timezone.now(),
                                     bytes_done=lead_import.size)
    # Committed above, before this check: of two parts ending at once, the later one sees both done.
    unfinished = LeadImportPart.objects.filter(lead_import=OuterRef("pk")).exclude(status=LeadImport.Status.DONE)
    LeadImport.objects.filter(pk=import_id, status=LeadImport.Status.RUNNING).exclude(Exists(unfinished)).update(
        status=LeadImport.Status.DONE, finished_at=timezone.now(), bytes_done=lead_import.size)
    lead_import.refresh_from_db()
    return lead_import


@transaction.atomic
def _lead_import_batch(*, lead_import: LeadImport, part: int, rows: list[_ImportRow], bytes_done: int) -> None:
    rejections: list[LeadImportRejection] = []
    kept = [row for row in rows if not isinstance(row.capture, str)]
    for row in rows:
        if isinstance(row.capture, str):
            rejections.append(LeadImportRejection(lead_import=lead_import, line=row.line, reason=row.capture,
                                                  values=row.cells))
    outcomes = leads_capture_bulk(items=[row.capture for row in kept], actor=lead_import.created_by,
                                  existing=lead_import.existing)
    counts = dict.fromkeys(CaptureStatus.values, 0)
    for row, outcome in zip(kept, outcomes, strict=True):
        if outcome.status == CaptureStatus.CREATED and outcome.duplicate_of is not None:
            # A later row of an address this batch created updated that lead, as it would from a later batch:
            # "created" counts the leads the file made, not their rows.
            counts[CaptureStatus.UPDATED] += 1
        else:
            counts[outcome.status] += 1
        if outcome.status == CaptureStatus.ERROR:
            reason = "; ".join(f"{name.replace('_', ' ').capitalize()}: {' '.join(messages)}"
                               for name, messages in outcome.errors.items())
            rejections.append(LeadImportRejection(lead_import=lead_import, line=row.line, reason=reason[:500],
                                                  values=row.cells))
    LeadImportRejection.objects.bulk_create(rejections, batch_size=1000)
    parts = LeadImportPart.objects.filter(lead_import=lead_import)
    parts.filter(number=part).update(rows_done=F("rows_done") + len(rows), bytes_done=bytes_done,
                                     heartbeat_at=timezone.now())
    # Last in the transaction: the parts wait on this row's lock only for each other's commit.
    LeadImport.objects.filter(pk=lead_import.pk).update(
        rows_done=F("rows_done") + len(rows),
        bytes_done=Subquery(parts.values("lead_import").annotate(least=Min("bytes_done")).values("least")),
        created_count=F("created_count") + counts[CaptureStatus.CREATED],
        updated_count=F("updated_count") + counts[CaptureStatus.UPDATED],
        unchanged_count=F("unchanged_count") + counts[CaptureStatus.UNCHANGED],
        skipped_count=F("skipped_count") + counts[CaptureStatus.SKIPPED],
        rejected_count=F("rejected_count") + len(rejections),
    )


def lead_imports_stalled() -> list[tuple[int, int]]:
    """(import, part) of the parts whose message was lost (queued for minutes) or whose worker died (running,
    no heartbeat)."""
    now = timezone.now()
    return list(LeadImportPart.objects.filter(
        Q(status=LeadImport.Status.QUEUED, heartbeat_at__lt=now - timedelta(minutes=2))
        | Q(status=LeadImport.Status.RUNNING, heartbeat_at__lt=now - IMPORT_STALE_AFTER)
    ).order_by("pk").values_list("lead_import_id", "number")[:20])
