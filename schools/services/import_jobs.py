"""The CSV import as a background job (issue 18): the upload's request stores the file's rows
and returns at once; a Celery task works through them a chunk at a time. Each chunk commits
with the import's progress (rows done, what became of each), so:

- the page shows rows done / total while it runs;
- a worker killed mid-chunk loses only that chunk's uncommitted work, and the next run
  (the broker's redelivery, or the beat task below once the lease has passed) begins where
  the last committed chunk ended: no row is created twice;
- two runs of one import at once (a redelivery while the first still works) take the
  import's row lock chunk by chunk, so each chunk is done once.

The checks of the rows: csv_import.py; the mails leave with their chunk's commit."""

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Account
from accounts.security_log import request_origin
from accounts.services.account_care import disable_account
from portal import queue
from schools.csv_files import ImportFile
from schools.models import AccountImport, ImportedRow, Unit
from schools.services.csv_import import FailedRow, check_rows, labelled_error
from schools.services.sub_accounts import create_sub_account

logger = logging.getLogger(__name__)

RUN_TASK = "schools.tasks.run_account_import"
Outcome = ImportedRow.Outcome
Status = AccountImport.Status

# Rows per transaction: one disk sync and one progress step per chunk.
CHUNK = 100
PROGRESS_FIELDS = [
    "done",
    "created_count",
    "disabled_count",
    "failed_count",
    "heartbeat_at",
    "status",
    "finished_at",
]


def start_import(*, unit: Unit, upload: ImportFile, actor: Account, request=None):
    """Store the file's rows and hand the import to a worker after the commit. With the
    broker down the import waits for the beat task (resume_stalled_imports)."""
    with transaction.atomic():
        job = AccountImport.objects.create(
            unit=unit,
            actor=actor,
            header=upload.header,
            with_state=upload.with_state,
            encoding=upload.encoding,
            rows=json.dumps(upload.rows, ensure_ascii=False),
            origin=request_origin(request),
            total=len(upload.rows),
        )
        transaction.on_commit(lambda: _publish(job.pk))
    return job


def _publish(import_id: int) -> None:
    refused = queue.publish(RUN_TASK, args=(import_id,))
    if refused:
        logger.warning("broker unavailable (%s); import %s waits for the sweep", refused, import_id)


def run_import(import_id: int) -> None:
    """Work through the import from where it stands, a chunk per transaction."""
    job = AccountImport.objects.select_related("unit", "actor").filter(pk=import_id).first()
    if job is None or job.finished:
        return
    rows = [(line, tuple(cells)) for line, cells in json.loads(job.rows)]
    created_before = ImportedRow.objects.filter(account_import=job, outcome=Outcome.CREATED)
    good, failed = check_rows(
        unit=job.unit,
        rows=rows,
        with_state=job.with_state,
        ignore=set(created_before.values_list("username", flat=True)),
    )
    checked = {row.line: row for row in [*good, *failed]}
    while _run_chunk(job, rows, checked):
        pass


def _run_chunk(job: AccountImport, rows, checked) -> bool:
    """One chunk from the import's committed progress; False once the import is done."""
    with transaction.atomic():
        locked = AccountImport.objects.select_for_update().get(pk=job.pk)
        if locked.status == Status.DONE:
            return False
        start = locked.done
        lines = [line for line, _cells in rows[start : start + CHUNK]]
        results = [_result(job, checked[line]) for line in _in_lock_order(lines, checked)]
        ImportedRow.objects.bulk_create(results)
        counts = {outcome: 0 for outcome in Outcome.values}
        for result in results:
            counts[result.outcome] += 1
        locked.done = start + len(lines)
        locked.created_count = F("created_count") + counts[Outcome.CREATED]
        locked.disabled_count = F("disabled_count") + counts[Outcome.DISABLED]
        locked.failed_count = F("failed_count") + counts[Outcome.FAILED]
        locked.heartbeat_at = timezone.now()
        locked.status = Status.RUNNING
        if locked.done >= locked.total:
            locked.status = Status.DONE
            locked.finished_at = timezone.now()
        locked.save(update_fields=PROGRESS_FIELDS)
        return locked.status != Status.DONE


def _in_lock_order(lines, checked):
    """A chunk's rows by local part: two imports of the same names at once take the name
    locks in one order, so one waits for the other instead of a deadlock."""
    return sorted(lines, key=lambda line: getattr(checked[line], "local_part", ""))


def _result(job: AccountImport, row) -> ImportedRow:
    """Carry out one checked row (in a savepoint of its own: a row refused late undoes only
    itself) and say what became of it."""
    if isinstance(row, FailedRow):
        return _failed(job, row.line, row.cells, row.reasons)
    if row.disable is not None:
        disable_account(
            account=row.disable, actor=job.actor, reason="csv_import", origin=job.origin
        )
        return ImportedRow(
            account_import=job,
            line=row.line,
            outcome=Outcome.DISABLED,
            username=row.disable.username,
            full_name=row.disable.full_name,
            cells=list(row.cells),
        )
    try:
        account = create_sub_account(
            unit=job.unit,
            local_part=row.local_part,
            profile=row.profile,
            stations=row.stations,
            actor=job.actor,
            checked=True,
            origin=job.origin,
        )
    except ValidationError as error:
        return _failed(job, row.line, row.cells, labelled_error(error))
    return ImportedRow(
        account_import=job,
        line=row.line,
        outcome=Outcome.CREATED,
        username=account.username,
        full_name=account.full_name,
        cells=list(row.cells),
    )


def _failed(job, line, cells, reasons) -> ImportedRow:
    return ImportedRow(
        account_import=job,
        line=line,
        outcome=Outcome.FAILED,
        cells=list(cells),
        reasons=list(reasons),
    )


def resume_stalled_imports(now=None) -> int:
    """Imports whose worker was lost (no chunk committed within the lease) or whose task the
    broker never took: hand each to a worker again. The heartbeat moves with the hand-over,
    so the next sweep waits a lease before trying again. How many were handed over."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.ACCOUNT_IMPORT_LEASE_SECONDS)
    handed = 0
    for pk, heartbeat in AccountImport.objects.filter(
        Q(status=Status.QUEUED) | Q(status=Status.RUNNING), heartbeat_at__lt=stale
    ).values_list("pk", "heartbeat_at"):
        # Conditional: two sweeps at once hand it over once.
        if AccountImport.objects.filter(pk=pk, heartbeat_at=heartbeat).update(heartbeat_at=now):
            logger.info("import %s had no progress within the lease: handed over again", pk)
            _publish(pk)
            handed += 1
    return handed


def latest_import(unit: Unit) -> AccountImport | None:
    return AccountImport.objects.filter(unit=unit).order_by("-created_at", "-id").first()


def failed_rows(job: AccountImport):
    return job.results.filter(outcome=Outcome.FAILED).order_by("line")
