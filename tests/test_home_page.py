"""The home page renders in a real browser with the vendored front-end libraries."""

import pytest


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_home_page_loads_with_bootstrap_and_htmx(page):
    page.goto("/")
    assert page.title() == "Data Hub Portal"
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("typeof window.bootstrap") == "object"
