"""In a real browser: sign in with a local account, pick a role, switch it in the header."""

from __future__ import annotations

import pytest

from portal.testing.personas import make_user


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sign_in_choose_a_role_then_switch_it_in_the_header(page, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = make_user("dana", ["dh-finance-consumer", "dh-marketing-steward"])
    user.set_password("dana-pw")
    user.save()

    page.goto("/tokens/")
    assert "/accounts/login/" in page.url  # the tokens page needs a signed-in user
    page.fill("#id_login", "dana")
    page.fill("#id_password", "dana-pw")
    page.click("#local-login button[type=submit]")

    page.wait_for_url("**/roles/select/**")
    page.click("text=Act as Steward · marketing")
    page.wait_for_url("**/tokens/")
    switcher = page.locator("#role-switch")
    assert switcher.input_value() == "steward:marketing"

    switcher.select_option("consumer:finance")
    page.click("#role-switcher button:has-text('Switch')")
    page.wait_for_load_state()
    assert page.url.endswith("/tokens/")
    assert page.locator("#role-switch").input_value() == "consumer:finance"
    assert page.evaluate("fetch('/api/v1/me').then(r => r.json()).then(b => b.role.key)") == "consumer:finance"
