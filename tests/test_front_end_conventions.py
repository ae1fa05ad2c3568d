"""The front end's single homes, checked on the templates themselves: statuses are shown by the one
badge tag, live panels poll through the one helper, links come from ``{% url %}``, and axe-core
(a test-only npm package) is never served."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template

ROOT = Path(settings.BASE_DIR)
TEMPLATES = sorted(p for p in ROOT.glob("**/templates/**/*.html") if "node_modules" not in p.parts
                   and ".venv" not in p.parts)
# A link, form target or request to a path of ours written by hand ("/browse", "/datasets/...").
HARD_CODED_PATH = re.compile(r"""\b(href|action|src|hx-get|hx-post|data-[a-z-]+)=["']/""")
# A colour picked by comparing a status in the template: the badge tag owns that map.
STATUS_COLOUR_MAP = re.compile(r"""(bg|table)-\{%\s*if|\{%\s*if [\w.]*status ==[^%]*%\}\s*(text-)?(bg|table)-""")


def offenders(pattern: re.Pattern[str]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{number}" for path in TEMPLATES
            for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]


def test_templates_are_found() -> None:
    assert len(TEMPLATES) > 40


def test_templates_link_through_url_tags_not_hand_written_paths() -> None:
    assert offenders(HARD_CODED_PATH) == []


def test_no_template_maps_statuses_to_colours_itself() -> None:
    assert offenders(STATUS_COLOUR_MAP) == []


def test_live_panels_poll_through_the_one_helper() -> None:
    assert offenders(re.compile(r"""hx-trigger=["'][^"']*every """)) == []
    assert any("data-poll=" in path.read_text() for path in TEMPLATES)


@pytest.mark.parametrize(("status", "tone"), [("succeeded", "success"), ("ready", "success"),
                                              ("in_service", "success"), ("failed", "danger"),
                                              ("partial", "warning"), ("needs_confirm", "warning"),
                                              ("running", "primary"), ("provisioning", "primary"),
                                              ("paused", "secondary"), ("stopped", "secondary")])
def test_a_status_has_one_colour_wherever_it_shows(status: str, tone: str) -> None:
    html = Template('{% load status_badges %}{% status_badge s "Label" testid="t" %}').render(Context({"s": status}))

    assert f'class="badge text-bg-{tone}"' in html
    assert f'data-status="{status}"' in html and 'data-testid="t"' in html and ">Label<" in html


def test_axe_core_is_a_test_only_package_never_copied_to_static(client) -> None:
    assert "axe-core" in (ROOT / "package.json").read_text()
    assert "axe" not in (ROOT / "bin" / "build-static").read_text()
    assert not list((ROOT / "static").glob("**/axe*.js"))
