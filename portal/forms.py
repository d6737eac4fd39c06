"""How form widgets become HTML.

Django draws every widget through a template (input.html including attrs.html, a loop over
the attributes). On the sign-in page that was half of the page's rendering time, for a
single <input> each. The plain <input> widgets are drawn here in Python instead, producing
the same markup as Django's templates (tests/test_performance.py compares the two); every
other widget still goes through its template, ours included.
"""

import html

from django.forms.renderers import TemplatesSetting
from django.utils.safestring import SafeString, mark_safe

# Django's templates that are exactly {% include "django/forms/widgets/input.html" %}.
PLAIN_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        "input",
        "text",
        "password",
        "hidden",
        "email",
        "number",
        "tel",
        "url",
        "search",
        "date",
        "time",
        "datetime",
        "color",
    )
)


def _escaped(value) -> str:
    """Django's conditional_escape (html.escape under it), without its lazy-string wrapper."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def input_html(widget: dict) -> SafeString:
    """The markup of django/forms/widgets/input.html for a widget's template context."""
    parts = ['<input type="', _escaped(widget["type"]), '" name="', _escaped(widget["name"]), '"']
    if widget["value"] is not None:
        parts += [' value="', _escaped(widget["value"]), '"']
    for name, value in widget["attrs"].items():
        if value is True:
            parts += [" ", _escaped(name)]
        elif value is not False:
            parts += [" ", _escaped(name), '="', _escaped(value), '"']
    parts.append(">")
    return mark_safe("".join(parts))  # noqa: S308 (every value above is escaped)


class PortalFormRenderer(TemplatesSetting):
    """The project's templates (TemplatesSetting), with plain inputs drawn by input_html."""

    def render(self, template_name, context, request=None):
        if template_name in PLAIN_INPUT_TEMPLATES and "widget" in context:
            return input_html(context["widget"])
        return super().render(template_name, context, request)
