"""Every app is checked: its tests are collected by the test command and its code is type-checked.

The MCP app's tests once never ran in CI because ``pytest.ini`` listed the apps by hand and missed it.
"""

from __future__ import annotations

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = sorted(p.parent.name for p in ROOT.glob("*/apps.py"))


def _ini(name: str, section: str, key: str) -> str:
    parser = configparser.ConfigParser()
    parser.read(ROOT / name)
    return parser[section][key]


def test_every_app_with_tests_is_collected_by_the_test_command() -> None:
    collected = set(_ini("pytest.ini", "pytest", "testpaths").split())
    with_tests = {app for app in APPS if (ROOT / app / "tests").is_dir()}
    assert with_tests and with_tests <= collected, sorted(with_tests - collected)


def test_every_app_is_type_checked() -> None:
    checked = {name.strip() for name in _ini("mypy.ini", "mypy", "files").split(",")}
    assert set(APPS) <= checked, sorted(set(APPS) - checked)
