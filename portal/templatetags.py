"""Template filters of the project (registered as the "portal" library in settings)."""

from django import template

from portal.forms import PLAIN_INPUT_TEMPLATES, input_html

register = template.Library()


@register.simple_tag(takes_context=False)
def widget_html(widget: dict):
    """A sub-widget (of a MultiWidget's template context) drawn as its template would."""
    if widget["template_name"] in PLAIN_INPUT_TEMPLATES:
        return input_html(widget)
    return template.loader.render_to_string(widget["template_name"], {"widget": widget})
