"""Template tags of the project (registered as the "portal" library in settings)."""

from django import template
from django.forms.renderers import get_default_renderer
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def widget_html(widget: dict):
    """A sub-widget (of a MultiWidget's template context) drawn by the form renderer, as
    Django's Widget.render does (plain inputs by portal.forms.input_html)."""
    html = get_default_renderer().render(widget["template_name"], {"widget": widget})
    return mark_safe(html)  # noqa: S308 (the renderer's own output, as in Widget._render)


@register.filter
def thousands(number) -> str:
    """1234567 as 1,234,567."""
    return f"{int(number or 0):,}"
