"""Settings fail loudly, naming the variable, on bad values."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.env import env_bool, env_int, parse_glue_catalogs


def test_it_reads_catalog_pairs_across_regions():
    refs = parse_glue_catalogs("123456789012:eu-central-1, 210987654321:us-east-1", "123456789012", "eu-west-1")
    assert [r.key for r in refs] == ["123456789012:eu-central-1", "210987654321:us-east-1"]


def test_it_defaults_to_the_portal_account_and_region():
    assert [r.key for r in parse_glue_catalogs("", "123456789012", "eu-west-1")] == ["123456789012:eu-west-1"]


def test_an_unknown_catalog_names_the_variable_and_entry():
    with pytest.raises(ImproperlyConfigured, match="GLUE_CATALOGS.*'nowhere'"):
        parse_glue_catalogs("nowhere", "123456789012", "eu-west-1")


def test_bad_booleans_and_integers_name_the_variable(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG", False)
    monkeypatch.setenv("SOME_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="SOME_INT"):
        env_int("SOME_INT", 1)
