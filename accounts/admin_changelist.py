"""Helpdesk's account list in the admin at national scale (issue 19): no whole-table count,
the lock state of a page in one query, rows drawn as Django's admin draws them, and a search
whose every kind of term is answered by an index."""

from django.contrib.admin import helpers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.functional import cached_property
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.lockout import lock_states
from accounts.models import Account
from accounts.normalize import normalize_login_name
from schools.models import Unit

# The changelist's columns (AccountAdmin.list_display), drawn by AccountChangeList.rows.
LIST_COLUMNS = [
    "username",
    "full_name",
    "unit",
    "role",
    "state",
    "locked_until",
    "email",
    "last_login",
]


class CountUpToPaginator(Paginator):
    """Counts the rows up to ``limit`` only (one bounded query, ``COUNT(*)`` over ``LIMIT``),
    never the whole table: at two million accounts counting them all took a parallel scan
    on every page (issue 19). The list then offers the first ``limit`` rows, and ``capped``
    says there are more (the pagination shows it, and asks for a narrower search)."""

    limit = 1000

    @cached_property
    def count(self):
        counted = self.object_list[: self.limit + 1].count()
        self.capped = counted > self.limit
        return min(counted, self.limit)

    capped = False


class AccountChangeList(ChangeList):
    """The lock state of a page's accounts in one query for the page's login names, instead
    of two subqueries per row; and each row's link made without Django's
    add_preserved_filters resolving it against every URL pattern (a third of the page's
    time with 50 rows): the filters to come back to are appended here, the same query
    string Django makes."""

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.row_filters, self.preserved_filters = self.preserved_filters, ""

    def url_for_result(self, result):
        url = super().url_for_result(result)
        return f"{url}?{self.row_filters}" if self.row_filters else url

    def get_results(self, request):
        super().get_results(request)
        accounts = list(self.result_list)  # the page, kept in the queryset's cache
        states = lock_states([account.username for account in accounts])
        for account in accounts:
            account.lock_until = states.get(account.username)

    def rows(self) -> list[list[SafeString]] | None:
        """The page's rows as Django's items_for_result draws them (the same markup; a test
        compares them), drawn here: Django's per-cell machinery (lookup_field,
        display_for_field, a format_html per cell) was two fifths of the page's time.
        None for a list this does not know how to draw (a popup, other columns)."""
        if (
            self.is_popup
            or getattr(self, "formset", None)
            or list(self.list_display) != ["action_checkbox", *LIST_COLUMNS]
            or list(self.list_display_links) != ["username"]
        ):
            return None
        admin_ = self.model_admin
        empty = admin_.get_empty_value_display()
        roles = dict(Account._meta.get_field("role").flatchoices)
        states = dict(Account._meta.get_field("state").flatchoices)
        # What url_for_result and add_preserved_filters make of every row's link, made once.
        context = {"preserved_filters": self.preserved_filters, "opts": self.opts}
        link = str(add_preserved_filters(context, self.url_for_result(Account(pk=0))))
        head, _zero, tail = link.partition("/0/")
        checkbox_label = _("Select this object for an action - {}")
        datetime_format = get_format("DATETIME_FORMAT")

        def text(value):
            return empty if value is None or str(value).strip() == "" else value

        rows = []
        for account in self.result_list:
            last_login = account.last_login
            row = format_html(
                '<td class="action-checkbox">{}</td>'
                '<th class="field-username"><a href="{}">{}</a></th>'
                '<td class="field-full_name">{}</td>'
                '<td class="field-unit nowrap">{}</td>'
                '<td class="field-role">{}</td>'
                '<td class="field-state">{}</td>'
                '<td class="field-locked_until">{}</td>'
                '<td class="field-email">{}</td>'
                '<td class="field-last_login nowrap">{}</td>',
                # admin_.action_checkbox(account), with its label's template translated once
                format_html(
                    '<input type="checkbox" name="{}" value="{}" class="action-select" '
                    'aria-label="{}">',
                    helpers.ACTION_CHECKBOX_NAME,
                    str(account.pk),
                    mark_safe(checkbox_label.format(escape(str(account)))),  # noqa: S308
                ),
                f"{head}/{quote(account.pk)}/{tail}",
                text(account.username),
                text(account.full_name),
                empty if account.unit is None else account.unit,
                roles.get(account.role, empty),
                states.get(account.state, empty),
                text(admin_.locked_until(account)),
                text(account.email),
                empty
                if last_login is None
                else dateformat.format(timezone.template_localtime(last_login), datetime_format),
            )
            rows.append([row])
        return rows


# A term this long or longer is looked for anywhere in login names, names and addresses
# (pg_trgm's trigram indexes need three characters); a shorter one matches names by their
# start (surname, or surname and first given name), from an index on the names too.
SUBSTRING_SEARCH_FROM = 3


def account_search(term: str) -> Q:
    """Helpdesk's search, each kind of term answered by an index of its own on PostgreSQL
    (migration accounts.0019 and the model's own), so its cost does not grow with the
    number of accounts:

    - a unit's code: that unit's accounts (looked up first, one unique-index read; their
      login names start with it);
    - a term with "@": the whole e-mail address, in any case (the lower(email) index);
    - a term with "_": login names that start with it (a whole login name, or a unit code
      and the start of the local part), from the login name's pattern index;
    - any other term of three or more characters: anywhere in the login name, the name or
      the address (trigram indexes, their bitmaps OR-ed: the conditions are on the
      account table alone);
    - one or two characters: names that start with it.

    Whole login names and addresses are not searched by trigram: theirs are shared with
    nearly every account (the unit codes' digits, the schools' mail domain), and reading
    those trigrams' entries took 70-120 ms at two million accounts (issue 19)."""
    if len(term) < SUBSTRING_SEARCH_FROM:
        return Q(full_name__startswith=term)
    units = list(Unit.objects.filter(code=term).values_list("pk", flat=True))
    if units:
        return Q(unit__in=units)
    if "@" in term:
        return Q(Exact(Lower("email"), term.lower()))
    if "_" in term:
        return Q(username__startswith=normalize_login_name(term))
    return (
        Q(username__contains=normalize_login_name(term))
        | Q(full_name__icontains=term)
        | Q(email__icontains=term)
    )
