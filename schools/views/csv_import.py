"""The holder's CSV import of sub-accounts (/manage/accounts/import/): upload, template,
result page and the download of failed rows."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from portal.http import posted
from schools.access import require_main_account
from schools.csv_files import CHINESE_HEADER, COLUMNS, MAX_ROWS, failed_rows_csv, template_csv
from schools.forms import ImportForm
from schools.services.csv_import import import_sub_accounts
from stations.models import Station

IMPORT_RESULT = "accounts_csv_import"


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
        result = import_sub_accounts(
            unit=unit, upload=form.cleaned_data["file"], actor=request.user, request=request
        )
        request.session[IMPORT_RESULT] = result.as_session(unit=unit)
        return redirect("schools:manage-import-result")
    context = {
        "form": form,
        "english_header": ",".join(COLUMNS),
        "chinese_header": ",".join(CHINESE_HEADER),
        "stations": Station.objects.usable_by(unit),
        "prefix": f"{unit.code}_",
        "max_rows": MAX_ROWS,
    }
    return render(request, "schools/manage_import.html", context)


@login_required
@require_GET
def manage_import_template(request):
    require_main_account(request.user)
    return _csv_download(template_csv(request.user.unit), "sub-accounts-template.csv")


def _stored_import(request):
    """The holder's last import in this session, or None (none yet, or of another unit)."""
    require_main_account(request.user)
    stored = request.session.get(IMPORT_RESULT)
    if not stored or stored.get("unit") != request.user.unit_id:
        return None
    return stored


@login_required
@never_cache
@require_GET
def manage_import_result(request):
    stored = _stored_import(request)
    if stored is None:
        messages.info(request, _("目前沒有匯入結果，請先上傳 CSV 檔。"))
        return redirect("schools:manage-import")
    return render(request, "schools/manage_import_result.html", {"result": stored})


@login_required
@never_cache
@require_GET
def manage_import_failed(request):
    stored = _stored_import(request)
    if stored is None or not stored["failed"]:
        messages.info(request, _("上次匯入沒有失敗的資料列可以下載。"))
        return redirect("schools:manage-import")
    return _csv_download(failed_rows_csv(stored), "sub-accounts-failed.csv")
