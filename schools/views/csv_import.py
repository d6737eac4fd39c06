"""The holder's CSV import of sub-accounts (/manage/accounts/import/): upload (the rows are
stored and a worker imports them), the import's page (a progress bar while it runs, then the
result), its progress as JSON for the bar, the template and the download of failed rows."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from portal.http import posted
from schools.access import get_unit_import, require_main_account
from schools.csv_files import (
    CHINESE_HEADER,
    COLUMNS,
    ENCODING_NAMES,
    MAX_ROWS,
    STATE_COLUMN,
    failed_rows_csv,
    template_csv,
)
from schools.forms import ImportForm
from schools.models import ImportedRow
from schools.services.import_jobs import failed_rows, latest_import, start_import
from stations.models import Station

# The result page lists at most this many created accounts (all are on the list page).
CREATED_SHOWN = 200


def _csv_download(text, filename):
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_import(request):
    require_main_account(request.user)
    unit = request.user.unit
    form = ImportForm(posted(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = start_import(
            unit=unit, upload=form.cleaned_data["file"], actor=request.user, request=request
        )
        return redirect("schools:manage-import-job", import_id=job.pk)
    context = {
        "form": form,
        "english_header": ",".join(COLUMNS),
        "chinese_header": ",".join(CHINESE_HEADER),
        "state_column": STATE_COLUMN,
        "stations": Station.objects.usable_by(unit),
        "prefix": f"{unit.code}_",
        "max_rows": f"{MAX_ROWS:,}",
        "latest": latest_import(unit),
    }
    return render(request, "schools/manage_import.html", context)


@login_required
@require_GET
def manage_import_template(request):
    require_main_account(request.user)
    return _csv_download(template_csv(request.user.unit), "sub-accounts-template.csv")


def progress_text(job) -> str:
    return _("已處理 %(done)s / %(total)s 列") % {
        "done": f"{job.done:,}",
        "total": f"{job.total:,}",
    }


@login_required
@never_cache
@require_GET
def manage_import_job(request, import_id):
    """While it runs, the progress bar; then the result."""
    job = get_unit_import(request.user, import_id)
    if not job.finished:
        return render(
            request,
            "schools/manage_import_progress.html",
            {"job": job, "progress_text": progress_text(job)},
        )
    results = job.results.order_by("line")
    context = {
        "job": job,
        "encoding": ENCODING_NAMES.get(job.encoding, job.encoding),
        "failed": list(failed_rows(job)),
        "disabled": list(results.filter(outcome=ImportedRow.Outcome.DISABLED)),
        "created": list(results.filter(outcome=ImportedRow.Outcome.CREATED)[:CREATED_SHOWN]),
    }
    return render(request, "schools/manage_import_result.html", context)


@login_required
@never_cache
@require_GET
def manage_import_progress(request, import_id):
    job = get_unit_import(request.user, import_id)
    return JsonResponse(
        {
            "done": job.done,
            "total": job.total,
            "finished": job.finished,
            "text": progress_text(job),
        }
    )


@login_required
@never_cache
@require_GET
def manage_import_job_failed(request, import_id):
    job = get_unit_import(request.user, import_id)
    failed = [(row.cells, row.reasons) for row in failed_rows(job)]
    if not failed:
        messages.info(request, _("這次匯入沒有失敗的資料列可以下載。"))
        return redirect("schools:manage-import-job", import_id=job.pk)
    text = failed_rows_csv(header=job.header, with_state=job.with_state, failed=failed)
    return _csv_download(text, "sub-accounts-failed.csv")


def _latest(request):
    require_main_account(request.user)
    job = latest_import(request.user.unit)
    if job is None:
        messages.info(request, _("目前沒有匯入結果，請先上傳 CSV 檔。"))
    return job


@login_required
@never_cache
@require_GET
def manage_import_result(request):
    """The unit's latest import (a bookmark of the page before imports ran in the
    background)."""
    job = _latest(request)
    if job is None:
        return redirect("schools:manage-import")
    return redirect("schools:manage-import-job", import_id=job.pk)


@login_required
@never_cache
@require_GET
def manage_import_failed(request):
    job = _latest(request)
    if job is None:
        return redirect("schools:manage-import")
    return manage_import_job_failed(request, job.pk)
