"""The checklist under a new-password field in a real Chromium (issue 16, point 2): it ticks
the server's rules in the server's words as the person types, says what to do when a
password is too common, and the strength meter never contradicts it. The browser's copy of
the rules is held against the server's own on a thousand passwords."""

import random

import pytest
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.profile import Profile
from accounts.services.new_accounts import create_main_account
from accounts.validators import (
    CharacterClassValidator,
    GuessabilityValidator,
    LengthValidator,
    LoginNameValidator,
    SequenceValidator,
)
from tests.conftest import GOOD_PASSWORD, LINK_PATTERN
from tests.test_common_passwords import random_passwords

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADVICE = "避免使用常見字詞或年份，可改用幾個不相關的詞。"


@pytest.fixture
def set_password_link(live_server, settings, school, django_capture_on_commit_callbacks):
    settings.PORTAL_BASE_URL = live_server.url
    with django_capture_on_commit_callbacks(execute=True):
        account = create_main_account(
            unit=school,
            local_part="admin01",
            profile=Profile(
                "王小明", "教務處", "教務主任", "049-2910960#3765", "wang@school.edu.tw"
            ),
        )
    return account, LINK_PATTERN.search(mail.outbox[-1].body).group(0)


def states(page):
    return page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-rule]')]"
        ".map(li => [li.dataset.rule, li.dataset.state]))"
    )


def meter(page):
    return page.locator(".strength").get_attribute("data-level")


def type_password(page, password):
    page.fill("#id_new_password1", password)
    page.wait_for_function("window.PortalPasswordRules !== undefined")


def test_the_checklist_ticks_the_rules_as_a_teacher_types(page, screenshot, set_password_link):
    _account, link = set_password_link
    page.goto(link)
    checklist = page.locator("#password-rules")
    assert "長度最少 8 個字元，最多 128 個字元。" in checklist.inner_text()
    assert "12 個字元" not in checklist.inner_text()  # only this account's length
    # Under the new-password box, not above the form.
    assert page.evaluate(
        "document.querySelector('#id_new_password1').compareDocumentPosition("
        "document.querySelector('#password-rules')) & Node.DOCUMENT_POSITION_FOLLOWING"
    )
    screenshot("61-checklist-before-typing")

    type_password(page, "abc")
    page.wait_for_function("document.querySelector('[data-rule=common]').dataset.state !== 'empty'")
    assert states(page) == {
        "length": "broken",
        "classes": "broken",
        "history": "later",
        "login-name": "met",
        "sequence": "met",
        "common": "broken",
    }
    assert meter(page) == "1"

    type_password(page, "Taipei#2026")
    assert states(page)["common"] == "broken"
    assert states(page)["length"] == "met"
    assert page.get_by_text(ADVICE).is_visible()
    assert meter(page) == "1"  # 弱, as the checklist says
    assert "還有 1 項規則未符合" in page.locator("[data-rules-summary]").inner_text()
    screenshot("62-checklist-too-common")

    type_password(page, "Qm7$vLx2")
    assert set(states(page).values()) == {"met", "later"}
    assert not page.get_by_text(ADVICE).is_visible()
    assert meter(page) == "2"  # 中: every rule met, not long

    type_password(page, GOOD_PASSWORD)
    assert set(states(page).values()) == {"met", "later"}
    assert meter(page) == "3"
    assert "每一項規則都已符合" in page.locator("[data-rules-summary]").inner_text()
    screenshot("63-checklist-all-met")

    type_password(page, "Harbor#ADMIN01-Tide82")  # holds the login name
    assert states(page)["login-name"] == "broken"
    assert meter(page) == "1"


def test_an_admin_side_account_sees_only_its_own_length(
    live_server, page, settings, agency, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = live_server.url
    with django_capture_on_commit_callbacks(execute=True):
        create_main_account(
            unit=agency,
            local_part="chief",
            profile=Profile("李大同", "資訊處", "科長", "02-77367800#1234", "lee@moe.gov.tw"),
        )
    page.goto(LINK_PATTERN.search(mail.outbox[-1].body).group(0))
    assert "長度最少 12 個字元" in page.locator("#password-rules").inner_text()
    type_password(page, "Qm7$vLx2Kp")  # 10: enough on the school side only
    assert states(page)["length"] == "broken"


RULES = {
    "length": LengthValidator,
    "classes": CharacterClassValidator,
    "login-name": LoginNameValidator,
    "sequence": SequenceValidator,
    "common": GuessabilityValidator,
}


def server_verdicts(password, account):
    verdicts = {}
    for code, rule in RULES.items():
        try:
            rule().validate(password, account)
        except ValidationError:
            verdicts[code] = False
        else:
            verdicts[code] = True
    return verdicts


def sample_passwords():
    """Random passwords, the common list's entries that look strong, the issue's examples,
    full-width and Chinese typing."""
    rng = random.Random(61)
    common = sorted(
        variant
        for entry in CommonPasswordValidator().passwords
        for variant in (entry, entry.capitalize())
        if len(variant) >= 8
    )
    return [
        *random_passwords(400, seed=62),
        *rng.sample(common, 500),
        "Taipei#2026",
        "Qm7$vLx2",
        "tR5#wq9Z",
        GOOD_PASSWORD,
        "Harbor#ADMIN01-Tide82",
        "Ｈｘ７！ｍｏｕｎｔａｉｎ",
        "王小明Ab#9xq",
        "Ab!19850312",
        "Xy#2023-03-15",
        "1qaz@WSX",
        "!!Dragon99",
        "Aa1!Aa1!",
        "wang@school.edu.tw1A",
        "010300Wang!",
        "😀Qm7$vLx2😀",
    ]


def test_the_browser_and_the_server_agree_on_every_rule(page, set_password_link):
    account, link = set_password_link
    page.goto(link)
    page.wait_for_function("window.PortalPasswordRules !== undefined")
    passwords = sample_passwords()

    in_browser = page.evaluate(
        """async (passwords) => {
            const list = document.querySelector('[data-password-rules-for]');
            const words = await PortalPasswordRules.loadWords(list.dataset.wordsSrc);
            const attr = (name) => [...document.querySelectorAll(`[${name}]`)]
                .map(el => el.getAttribute(name));
            const context = {
                minLength: parseInt(list.dataset.minLength, 10),
                loginNames: attr('data-login-name'),
                personal: attr('data-user-word'),
                words: words,
            };
            return passwords.map(p => {
                const verdicts = PortalPasswordRules.check(p, context);
                delete verdicts.history;
                return verdicts;
            });
        }""",
        passwords,
    )

    disagreements = [
        (password, browser, server_verdicts(password, account))
        for password, browser in zip(passwords, in_browser, strict=True)
        if browser != server_verdicts(password, account)
    ]
    assert disagreements == []
