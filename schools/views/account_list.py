"""The holder's list of the unit's accounts (/manage/accounts/), its bulk actions (POST) and
its CSV export."""

import csv
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Account
from schools.access import listed_accounts
from schools.services.bulk_actions import ACTIONS as BULK_ACTIONS
from schools.services.sub_account_requests import open_requests
from schools.views.bulk import bulk_action, filtered_accounts
from stations.models import Consent, Station, StationGrant, ordered_fields

PAGE_SIZE = 50


def _holder_accounts(holder, params):
    """The unit's listed accounts, filtered by q, state and station."""
    return filtered_accounts(listed_accounts(holder), params)


def _list_page(accounts, number, *, filtered: bool):
    """A page of the holder's list. A filtered list asks for one row more than a page first:
    when that is all there is (a search's usual answer), it is counted in memory instead of
    by a second pass of the filter over the unit."""
    paginator = Paginator(accounts, PAGE_SIZE)
    if filtered and number in (None, "", "1"):
        first = list(accounts[: PAGE_SIZE + 1])
        if len(first) <= PAGE_SIZE:
            return Paginator(first, PAGE_SIZE).get_page(1)
        return Page(first[:PAGE_SIZE], 1, paginator)  # rows at hand; only the count is left
    return paginator.get_page(number)


def _local_minute(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M}"


# The holder's list reads these columns as plain tuples: no model per row.
LIST_COLUMNS = ("id", "username", "full_name", "office", "title", "state", "role", "last_login")


LIST_ROW = (
    '<tr><td>{}</td><td class="login-name"><a href="{}">{}</a>{}</td><td>{}</td><td>{}／{}</td>'
    '<td><span class="state state--{}">{}</span></td><td>{}</td><td>{}</td></tr>'
)
ROW_CHECKBOX = (
    '<input type="checkbox" name="accounts" value="{}" form="bulk-form"{} aria-label="{}">'
)


def _account_rows(accounts, stations, holder, checked=frozenset()) -> list[SafeString]:
    """The list's table rows, drawn here rather than in the template: fifty rows of a dozen
    cells and station chips were two thirds of the page's time as template nodes.

    Accounts come as tuples of LIST_COLUMNS; grants and consents as tuples in two queries,
    matched to the station list in memory. Each station's two chips are drawn once."""
    accounts = list(accounts)
    ids = [row[0] for row in accounts]
    fields = {station.pk: station.field_list for station in stations}
    granted: dict[int, list] = {}
    for account_id, station_id in StationGrant.objects.filter(account_id__in=ids).values_list(
        "account_id", "station_id"
    ):
        granted.setdefault(account_id, []).append(station_id)
    consented = {
        (account_id, station_id)
        for account_id, station_id, consent_fields in Consent.objects.filter(
            account_id__in=ids, revoked_at=None
        ).values_list("account_id", "station_id", "fields")
        if ordered_fields(consent_fields) == fields.get(station_id)
    }
    position = {station.pk: index for index, station in enumerate(stations)}
    chip = {}
    for station in stations:
        chip[station.pk, True] = format_html(
            '<span class="chip chip--ok">{} ✓ {}</span>', station.name, _("已同意")
        )
        chip[station.pk, False] = format_html(
            '<span class="chip">{} <span class="chip__note">{}</span></span>',
            station.name,
            _("尚未同意"),
        )
    link = reverse("schools:manage-account", args=["-"])[:-2]  # "/manage/accounts/"
    own_page = reverse("accounts:me")  # the holder's own row: edited at /me/
    states = {value: str(label) for value, label in Account.State.choices}
    main_badge = format_html(' <span class="badge">{}</span>', _("主帳號"))
    no_stations = mark_safe('<span class="muted">—</span>')
    never = format_html('<span class="muted">{}</span>', _("未曾登入"))
    rows = []
    for pk, username, full_name, office, title, state, role, last_login in accounts:
        station_ids = sorted(granted.get(pk, []), key=position.__getitem__)
        # Every piece joined here was made by format_html above.
        chips = mark_safe("".join(chip[sid, (pk, sid) in consented] for sid in station_ids))  # noqa: S308
        box = ""
        if pk != holder.pk:  # the holder's own account is not acted on from the list
            box = format_html(
                ROW_CHECKBOX,
                username,
                mark_safe(" checked") if username in checked else "",
                _("選取 %(username)s") % {"username": username},
            )
        rows.append(
            format_html(
                LIST_ROW,
                box,
                own_page if pk == holder.pk else link + quote(username) + "/",
                username,
                main_badge if role == Account.Role.MAIN else "",
                full_name,
                office,
                title,
                state,
                states[state],
                chips or no_stations,
                _local_minute(last_login) if last_login else never,
            )
        )
    return rows


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def manage_accounts(request):
    """The list; a POST is a bulk action on the checked accounts (or on every account the
    list's filter, in the query string, finds)."""
    if request.method == "POST":
        return bulk_action(request, render_list=_render_list)
    return _render_list(request)


def _render_list(request, bulk_form=None):
    accounts = _holder_accounts(request.user, request.GET).values_list(*LIST_COLUMNS)
    filtered = any(request.GET.get(name) for name in ("q", "state", "station"))
    page = _list_page(accounts, request.GET.get("page"), filtered=filtered)
    filters = request.GET.copy()
    filters.pop("page", None)
    stations = list(Station.objects.order_by("order", "name"))
    side = request.user.unit.side
    usable = [station for station in stations if station.is_active and side in station.sides]
    checked = set(request.POST.getlist("accounts")) if bulk_form is not None else set()
    return render(
        request,
        "schools/manage_list.html",
        {
            "page": page,
            "rows": _account_rows(page.object_list, stations, request.user, checked),
            "filters": filters.urlencode(),
            "states": Account.State.choices,
            "stations": [station for station in stations if station.is_active],
            "usable_stations": usable,
            "bulk_form": bulk_form,
            "bulk_actions": BULK_ACTIONS,
            "query": request.GET,
            "pending_requests": open_requests(request.user.unit).count(),
        },
    )


EXPORT_HEADER = [
    "子帳號",
    "姓名",
    "處室名稱",
    "職稱",
    "電話(分機)",
    "信箱",
    "編報站",
    "狀態",
    "角色",
    "最後登入",
]


def spreadsheet_safe(value) -> str:
    """A cell Excel will not run: text starting with = + - @ (or a tab/CR) gets a leading
    apostrophe, so a name like =HYPERLINK(...) stays text (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@login_required
@never_cache
@require_GET
def manage_accounts_export(request):
    """All of the unit's accounts as CSV that Excel opens correctly (UTF-8 with BOM)."""
    grants = StationGrant.objects.select_related("station").order_by(
        "station__order", "station__name"
    )
    accounts = _holder_accounts(request.user, {}).prefetch_related(
        Prefetch("station_grants", queryset=grants)
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="accounts-{request.user.unit.code}.csv"'
    )
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(EXPORT_HEADER)
    for account in accounts:
        writer.writerow(
            spreadsheet_safe(cell)
            for cell in [
                account.local_part,
                account.full_name,
                account.office,
                account.title,
                account.phone,
                account.email,
                ";".join(grant.station.slug for grant in account.station_grants.all()),
                account.get_state_display(),
                account.get_role_display(),
                timezone.localtime(account.last_login).strftime("%Y-%m-%d %H:%M")
                if account.last_login
                else "",
            ]
        )
    return response
