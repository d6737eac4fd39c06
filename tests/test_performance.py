"""Speed-ups that must not change what a person gets: widgets drawn in Python give Django's
markup, and the Redis cache keeps one client. (The figures themselves are in bench/.)"""

import os

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from accounts.forms import SignInForm, captcha_field
from portal.cache import PortalRedisCache
from portal.forms import PortalFormRenderer
from portal.templatetags import widget_html

pytestmark = pytest.mark.django_db

WIDGETS = [
    forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false", "maxlength": 150}),
    forms.TextInput(attrs={"required": True, "disabled": False, "data-x": "\"<&>'"}),
    forms.PasswordInput(render_value=True),
    forms.PasswordInput(),
    forms.HiddenInput(),
    forms.EmailInput(attrs={"class": "wide", "placeholder": gettext_lazy("公務信箱")}),
    forms.NumberInput(attrs={"min": 0}),
    forms.URLInput(),
    forms.DateInput(),
    forms.TimeInput(),
]
VALUES = [
    None,
    "",
    "010300_teacher01",
    '"><script>alert(1)</script>',
    42,
    "林志明",
    format_html("<b>{}</b>", "已標記安全"),
]


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda widget: type(widget).__name__)
def test_plain_inputs_are_drawn_as_djangos_templates_draw_them(widget):
    for value in VALUES:
        ours = widget.render(
            "field", value, attrs={"id": "id_field"}, renderer=PortalFormRenderer()
        )
        djangos = widget.render(
            "field", value, attrs={"id": "id_field"}, renderer=TemplatesSetting()
        )
        assert ours == djangos


def test_the_sign_in_form_draws_the_same_and_never_draws_the_password_back():
    form = SignInForm(data={"username": "<b>x</b>", "password": "secret", "captcha_1": "12"})
    form.is_valid()
    for name in ("username", "password"):
        field = form[name]
        attrs = field.build_widget_attrs({"id": field.auto_id})
        assert field.field.widget.render(
            field.html_name, field.value(), attrs=attrs, renderer=PortalFormRenderer()
        ) == field.field.widget.render(
            field.html_name, field.value(), attrs=attrs, renderer=TemplatesSetting()
        )
    assert "secret" not in str(form["password"])
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in str(form["username"])


def test_the_captchas_boxes_are_drawn_as_djangos_templates_draw_them():
    widget = captcha_field().widget
    widget.fetch_captcha_store("captcha", None, {"id": "id_captcha"})  # as render() does
    context = widget.get_context("captcha", ["key<1>", "12"], {"id": "id_captcha"})
    subwidgets = context["widget"]["subwidgets"]
    assert [sub["template_name"] for sub in subwidgets] == [
        "django/forms/widgets/hidden.html",
        "django/forms/widgets/text.html",
    ]
    for sub in subwidgets:
        assert widget_html(sub) == TemplatesSetting().render(sub["template_name"], {"widget": sub})


def test_the_redis_cache_keeps_one_client_per_connection_pool():
    cache = PortalRedisCache("redis://127.0.0.1:6379/15", {})
    client = cache._cache.get_client("a")
    assert cache._cache.get_client("b") is client
    assert cache._cache.get_client("c", write=True) is client  # one server: one pool
    assert client.connection_pool is cache._cache._get_connection_pool(False)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (CI sets REDIS_URL)")
def test_the_redis_cache_still_stores_and_reads():
    cache = PortalRedisCache(os.environ["REDIS_URL"], {})
    cache.set("portal-test-key", {"board": "<p>公告</p>"}, 30)
    assert cache.get("portal-test-key") == {"board": "<p>公告</p>"}
    cache.set("portal-test-key-n", 1, 30)
    assert cache.incr("portal-test-key-n") == 2  # the rate limits count this way
    cache.delete_many(["portal-test-key", "portal-test-key-n"])
    assert cache.get("portal-test-key") is None
