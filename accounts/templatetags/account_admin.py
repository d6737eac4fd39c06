"""The helpdesk's account changelist draws its rows in Python (accounts.admin,
AccountChangeList.rows): Django's result_list tag with the same template and headers."""

from django import template
from django.contrib.admin.templatetags.admin_list import (
    result_headers,
    result_hidden_fields,
    result_list,
)
from django.contrib.admin.templatetags.base import InclusionAdminNode

register = template.Library()


def account_result_list(cl):
    rows = cl.rows() if hasattr(cl, "rows") else None
    if rows is None:  # a list AccountChangeList does not draw: Django's own
        return result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": rows,
    }


@register.tag(name="account_result_list")
def account_result_list_tag(parser, token):
    return InclusionAdminNode(
        parser,
        token,
        func=account_result_list,
        template_name="change_list_results.html",
        takes_context=False,
    )
