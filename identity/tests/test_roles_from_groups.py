"""Group names (IdP claim or Django groups) become roles through ROLE_GROUP_PATTERN, ADMIN_GROUP and use cases."""

import pytest

from identity.roles import Role, find_role, roles_from_groups
from identity.sso import oidc_apps
from django.core.exceptions import ImproperlyConfigured

PATTERN = r"^dh-(?P<hub>[a-z0-9-]+)-(?P<persona>steward|provider|consumer)$"
USE_CASE = r"^dh-usecase-(?P<use_case>[a-z0-9-]+)-consumer$"


def derive(groups):
    return roles_from_groups(groups, pattern=PATTERN, admin_group="dh-admins", use_case_pattern=USE_CASE)


def test_matching_groups_grant_roles_and_others_are_ignored():
    roles = derive(["dh-finance-steward", "dh-sales-consumer", "everyone", "dh-finance-owner"])
    assert [r.key for r in roles] == ["steward:finance", "consumer:sales"]


def test_the_admin_group_grants_the_admin_role_first():
    assert [r.key for r in derive(["dh-sales-provider", "dh-admins"])] == ["admin", "provider:sales"]


def test_use_case_groups_add_read_scopes_to_consumer_roles_only():
    roles = derive(["dh-finance-consumer", "dh-finance-steward", "dh-usecase-churn-consumer"])
    consumer = find_role(roles, "consumer:finance")
    assert consumer == Role("consumer", "finance", ("churn",))
    assert consumer.read_scopes == ("finance", "churn")
    assert find_role(roles, "steward:finance").use_cases == ()
    # A use-case group alone never becomes a hub role (the hub pattern would also match it).
    assert derive(["dh-usecase-churn-consumer"]) == []


def test_no_groups_no_roles():
    assert derive([]) == []


def test_a_custom_pattern_maps_other_naming_schemes():
    roles = roles_from_groups(["APP_DataHub_Finance_Reader"], pattern=r"^APP_DataHub_(?P<hub>\w+)_Reader$(?P<persona>)",
                              admin_group="x", use_case_pattern=USE_CASE)
    assert roles == []  # persona group empty: not a persona, ignored rather than crashing


def test_sso_settings_name_a_bad_provider_entry():
    with pytest.raises(ImproperlyConfigured, match=r"OIDC_PROVIDERS\[0\]: missing \['client_id'\]"):
        oidc_apps("", "", "", "groups", [{"id": "corp", "issuer": "https://idp"}])
    with pytest.raises(ImproperlyConfigured, match="unknown keys"):
        oidc_apps("", "", "", "groups", [{"id": "corp", "issuer": "https://idp", "client_id": "x", "scret": "y"}])
    apps = oidc_apps("https://idp/", "portal", "s", "groups", None)
    assert apps[0]["provider_id"] == "sso" and apps[0]["settings"]["server_url"] == "https://idp"
    assert apps[0]["settings"]["oauth_pkce_enabled"] is True
