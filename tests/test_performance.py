"""Speed-ups that must not change what a person gets: widgets drawn in Python give Django's
markup, and the Redis cache keeps one client. (The figures themselves are in bench/.)"""

import os
import re

import pytest
from captcha.models import CaptchaStore
from django import forms
from django.db import connection
from django.forms.renderers import TemplatesSetting
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from accounts.captcha import captcha_field
from accounts.forms import SignInForm
from announcements import services
from portal.cache import PortalRedisCache
from portal.forms import PortalFormRenderer
from portal.templatetags import widget_html
from tests.conftest import GOOD_PASSWORD, sign_in

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


# --- The guest home page, kept drawn (accounts/guest_home.py) --------------------------------

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CAPTCHA_KEY = re.compile(r'name="captcha_0" value="([0-9a-f]{40})"')


def guest_view(client=None):
    client = client or Client(enforce_csrf_checks=True)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return client, response.content.decode(), queries


def test_every_guest_gets_the_kept_page_with_a_token_and_captcha_of_their_own(holder):
    _, first, _ = guest_view()
    guest, second, queries = guest_view()
    assert [q["sql"].split()[0] for q in queries] == ["INSERT"]  # the new captcha, nothing else
    tokens = TOKEN.findall(second)
    assert len(tokens) == 2 and tokens[0] == tokens[1]  # sign-in and language forms
    assert tokens[0] != TOKEN.findall(first)[0]
    key = CAPTCHA_KEY.findall(second)[0]
    assert key != CAPTCHA_KEY.findall(first)[0]
    assert f"/captcha/image/{key}/" in second
    assert CaptchaStore.objects.filter(hashkey=key).exists()
    anonymised = TOKEN.sub("T", CAPTCHA_KEY.sub("K", first)).replace(
        CAPTCHA_KEY.findall(first)[0], "K"
    )
    assert TOKEN.sub("T", CAPTCHA_KEY.sub("K", second)).replace(key, "K") == anonymised
    # The copy's token and captcha are the real ones: this guest signs in with them.
    response = guest.post(
        "/login/",
        {
            "csrfmiddlewaretoken": tokens[0],
            "username": "010300_admin01",
            "password": GOOD_PASSWORD,
            "captcha_0": key,
            "captcha_1": "PASSED",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_guest_with_a_message_or_a_query_string_gets_a_page_of_their_own(holder):
    guest_view()
    client = Client()
    assert sign_in(client, "010300_admin01", GOOD_PASSWORD).status_code == 302
    session = client.session  # then 60 minutes without a request
    session["last_seen"] -= 60 * 60
    session.save()
    assert "已閒置超過" in client.get("/").content.decode()  # the message, on the guest page
    _, again, _ = guest_view(client)
    assert "已閒置超過" not in again  # shown once, and not kept for anyone else
    _, other, _ = guest_view()
    assert "已閒置超過" not in other
    page = Client().get("/?from=manual").content.decode()
    assert 'name="next" type="hidden" value="/?from=manual"' in page


def test_the_kept_page_follows_the_language_and_the_board(holder):
    guest_view()
    english = Client()
    english.cookies["django_language"] = "en"
    assert 'lang="en"' in english.get("/").content.decode()
    assert 'lang="zh-Hant-TW"' in guest_view()[1]
    with TestCase.captureOnCommitCallbacks(execute=True):  # committed, as in a request
        services.create_announcement(title="新的公告", body="內文", audience="guest", actor=None)
    assert "新的公告" in guest_view()[1]


# --- Fragments kept drawn per value (CACHES["fragments"]) ------------------------------------


def account_card(page: str) -> str:
    return page[page.index('id="me-title"') : page.index("</section>", page.index('id="me-title"'))]


def test_the_home_pages_account_card_follows_every_change_at_once(client, teacher, holder):
    assert sign_in(client, "010300_teacher01", GOOD_PASSWORD).status_code == 302
    before = account_card(client.get("/").content.decode())
    assert "林志明" in before and "子帳號管理" not in before
    changes = {"full_name": "林志明明", "office": "學務處", "title": "生輔組長", "phone": "02-7736"}
    assert client.post("/me/", changes).status_code == 302
    after = account_card(client.get("/").content.decode())
    assert "<dd>林志明明</dd>" in after and "<dd>學務處</dd>" in after and "生輔組長" in after
    other = Client()
    assert sign_in(other, "010300_admin01", GOOD_PASSWORD).status_code == 302
    card = account_card(other.get("/").content.decode())
    assert "王小明" in card and "林志明" not in card and "子帳號管理" in card  # their own card
    other.cookies["django_language"] = "en"
    assert "Sub-account" in account_card(other.get("/").content.decode())
