"""Input and output shapes of the catalog API (search answers are plain dicts: a hot path)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.models import CLASSIFICATIONS, PII_KINDS, DatasetOwner
from catalog.services.column_curation import UNCHANGED, ColumnCurationInput
from catalog.services.curation import CurationInput
from catalog.services.owners import OwnerInput


class OwnerInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DatasetOwner.Kind.choices)
    user = serializers.CharField(required=False, allow_null=True, max_length=254, help_text="username or e-mail")
    team = serializers.CharField(required=False, allow_null=True, max_length=150, help_text="group name")


class CurationSerializer(serializers.Serializer):
    """PATCH body of a dataset's curation; omitted fields keep their value (``owners`` replaces them all)."""

    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000, trim_whitespace=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=30)
    owner = serializers.CharField(required=False, allow_blank=True, max_length=255)
    classification = serializers.ChoiceField(choices=("", *CLASSIFICATIONS), required=False, allow_blank=True)
    pii_columns = serializers.ListField(child=serializers.CharField(max_length=255), required=False)
    owners = OwnerInputSerializer(many=True, required=False, help_text="portal users or teams with a kind")
    deprecated = serializers.BooleanField(required=False, help_text="true needs a deprecation_reason")
    deprecation_reason = serializers.CharField(required=False, allow_blank=True, max_length=20_000)
    deprecation_date = serializers.DateField(required=False, allow_null=True)
    replacement = serializers.CharField(required=False, allow_blank=True, max_length=511, help_text="database.table")

    def to_input(self) -> CurationInput:
        data: dict[str, Any] = self.validated_data
        return CurationInput(**{k: data.get(k) for k in (
            "description", "tags", "owner", "classification", "pii_columns", "deprecated", "deprecation_reason",
            "deprecation_date", "replacement")})

    def owners_input(self) -> list[OwnerInput] | None:
        owners = self.validated_data.get("owners")
        return None if owners is None else [OwnerInput(o["kind"], o.get("user"), o.get("team")) for o in owners]


def dataset_json(detail: dict[str, Any]) -> dict[str, Any]:
    """The API shape of ``catalog.queries.dataset_detail`` (datetimes as ISO strings)."""
    def iso(value: Any) -> Any:
        return value.isoformat() if hasattr(value, "isoformat") else value

    out = {k: iso(v) for k, v in detail.items() if k not in ("curation", "deprecation")}
    out["deprecation"] = {k: iso(v) for k, v in detail["deprecation"].items()} if detail["deprecation"] else None
    out["columns"] = [column_json(c) for c in detail["columns"]]
    out["curation"] = {k: iso(v) for k, v in detail["curation"].items()}
    out["tags"] = out["curation"]["tags"]
    out["pii_columns"] = out["curation"]["pii_columns"]
    return out


COLUMN_FIELDS = ("name", "type", "comment", "partition_key", "description", "tags", "classification", "pii",
                 "pii_status", "sources", "propagated", "lf_tags")


def column_json(column: dict[str, Any]) -> dict[str, Any]:
    """A column object of the dataset API (``comment`` is Glue's; ``description`` what is shown)."""
    return {k: column[k] for k in COLUMN_FIELDS}


class ColumnCurationSerializer(serializers.Serializer):
    """PATCH body of one column's curation; omitted fields keep their value, ``pii: null`` clears PII."""

    description = serializers.CharField(required=False, allow_blank=True, max_length=20_000, trim_whitespace=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=64), required=False, max_length=30)
    classification = serializers.ChoiceField(choices=("", *CLASSIFICATIONS), required=False, allow_blank=True)
    pii = serializers.ChoiceField(choices=PII_KINDS, required=False, allow_null=True,
                                  help_text="the kind of personal data (confirms it), or null: not personal data")

    def to_input(self) -> ColumnCurationInput:
        data: dict[str, Any] = self.validated_data
        return ColumnCurationInput(description=data.get("description"), tags=data.get("tags"),
                                   classification=data.get("classification"), pii=data.get("pii", UNCHANGED))


class ProposalDecisionSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)
    decision = serializers.ChoiceField(choices=("accept", "reject"))


def proposal_json(proposal: Any) -> dict[str, Any]:
    return {
        "id": proposal.id,
        "dataset": proposal.target_table.qualified_name,
        "column": proposal.target_column,
        "field": proposal.field,
        "value": proposal.value,
        "origin": proposal.origin_label,
        "via": list(proposal.via_jobs),
        "explanation": proposal.explanation,
        "status": proposal.status,
        "created_at": proposal.created_at.isoformat(),
    }


def versions_json(qualified_name: str, versions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "qualified_name": qualified_name,
        "versions": [
            {**v, "updated_at": v["updated_at"].isoformat() if v["updated_at"] else None,
             "recorded_at": v["recorded_at"].isoformat() if v["recorded_at"] else None}
            for v in versions
        ],
    }


# --- Response shapes, for the OpenAPI schema (/api/v1/docs); the views answer plain dicts. ---

class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()


class MatchedColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    comment = serializers.CharField()


class _TableSerializer(serializers.Serializer):
    """Fields a search result and a dataset detail share."""

    id = serializers.IntegerField()
    qualified_name = serializers.CharField(help_text="database.table")
    database = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(help_text="curated, else Glue's")
    table_type = serializers.CharField()
    format = serializers.CharField()
    location = serializers.CharField()
    owner = serializers.CharField()
    classification = serializers.CharField()
    hub = serializers.CharField()
    layer = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


class ExplainSerializer(serializers.Serializer):
    score = serializers.FloatField(help_text="the hit's score: text × prior")
    text = serializers.FloatField(help_text="text relevance (coverage of the query's words, exact names)")
    prior = serializers.FloatField(help_text="1 + the priors below")
    priors = serializers.DictField(child=serializers.FloatField(), help_text="layer, lineage, usage, curation")


class SearchResultSerializer(_TableSerializer):
    score = serializers.FloatField(allow_null=True, help_text="null in browse order (empty query)")
    highlight = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                      help_text="field → HTML fragments, matched words in <em>")
    matched_columns = MatchedColumnSerializer(many=True)
    deprecated = serializers.BooleanField(help_text="a steward deprecated it: ranked lower, labelled")
    via_glossary = serializers.ListField(child=serializers.CharField(),
                                         help_text='glossary forms this hit holds in place of the typed words, '
                                                   'e.g. "pharmacy ← rx"')
    explain = ExplainSerializer(required=False, help_text="with ?explain=1 (admins): the score's parts")


class GlossaryExpansionSerializer(serializers.Serializer):
    term = serializers.CharField(help_text="the approved glossary term the typed words name")
    typed = serializers.CharField()
    labels = serializers.ListField(child=serializers.CharField(), help_text='"pharmacy ← rx" per other form')


class SearchPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = SearchResultSerializer(many=True)
    facets = serializers.DictField(child=FacetValueSerializer(many=True),
                                   help_text="database, table_type, format, owner, classification, hub, layer, term, lf_tag, "
                                             "pii, owned_by")
    glossary = GlossaryExpansionSerializer(many=True, help_text="the glossary expansions applied to the query")


class SuggestionSerializer(serializers.Serializer):
    qualified_name = serializers.CharField()
    name = serializers.CharField()
    database = serializers.CharField()


class TermSuggestionSerializer(serializers.Serializer):
    term = serializers.CharField()
    matched = serializers.CharField(help_text="the form (name, synonym or abbreviation) the prefix starts")
    id = serializers.CharField(help_text="the term's id (/glossary/terms/ID/)")


class SuggestPageSerializer(serializers.Serializer):
    suggestions = SuggestionSerializer(many=True)
    terms = TermSuggestionSerializer(many=True, help_text="approved glossary terms the prefix starts")


class PropagatedValueSerializer(serializers.Serializer):
    field = serializers.CharField()
    origin = serializers.CharField(help_text="database.table.column the value came from")
    via = serializers.ListField(child=serializers.CharField(), help_text="jobs along the lineage, upstream first")
    status = serializers.CharField(help_text="accepted, or applied (suspected PII)")
    explanation = serializers.CharField()


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    comment = serializers.CharField(help_text="Glue's comment")
    partition_key = serializers.BooleanField()
    description = serializers.CharField(help_text="steward's, else propagated, else Glue's comment")
    tags = serializers.ListField(child=serializers.CharField())
    classification = serializers.CharField(allow_blank=True)
    pii = serializers.CharField(allow_null=True, help_text="the kind of personal data, or null")
    pii_status = serializers.ChoiceField(choices=("confirmed", "suspected"), allow_null=True)
    sources = serializers.DictField(child=serializers.ChoiceField(choices=("glue", "steward", "propagation")),
                                    help_text="field → where its value came from")
    propagated = PropagatedValueSerializer(many=True)
    lf_tags = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                    help_text="Lake Formation tags of the column beyond its table's: {key: [values]}")


class ProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.CharField()
    column = serializers.CharField()
    field = serializers.CharField()
    value = serializers.JSONField()
    origin = serializers.CharField()
    via = serializers.ListField(child=serializers.CharField())
    explanation = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class ProposalsPageSerializer(serializers.Serializer):
    proposals = ProposalSerializer(many=True)


class DecisionSerializer(serializers.Serializer):
    decided = serializers.IntegerField()


class OwnerSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DatasetOwner.Kind.choices)
    user = serializers.CharField(allow_null=True)
    team = serializers.CharField(allow_null=True)
    name = serializers.CharField(help_text="username, or team:<name>: the owned_by facet's value")
    display = serializers.CharField()
    contact = serializers.ListField(child=serializers.CharField(), help_text="mailto: links, one per address")
    mailto = serializers.CharField(help_text="one mailto: link to every address (empty without one)")


class DeprecationSerializer(serializers.Serializer):
    reason = serializers.CharField()
    date = serializers.DateField(allow_null=True)
    replacement = serializers.CharField(allow_blank=True)


class DatasetSerializer(_TableSerializer):
    lf_tags = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                    help_text="Effective Lake Formation tags (inherited included): {key: [values]}")
    owners = OwnerSerializer(many=True)
    deprecation = DeprecationSerializer(allow_null=True, help_text="null unless a steward deprecated the dataset")
    parameters = serializers.DictField()
    created_at = serializers.DateTimeField(allow_null=True)
    view_sql = serializers.CharField(help_text="Names of tables outside the caller's role are masked")
    view_sql_masked = serializers.BooleanField(help_text="True when names in view_sql were masked")
    columns = ColumnSerializer(many=True)
    partition_keys = serializers.ListField(child=serializers.CharField())
    declared_classification = serializers.CharField(help_text="Glue's or the steward's, before columns raise it")
    classification_reason = serializers.CharField(help_text="why classification is higher than declared, or empty")
    tags = serializers.ListField(child=serializers.CharField())
    pii_columns = serializers.ListField(child=serializers.CharField())
    curation = serializers.DictField(help_text="description, tags, owner, classification, pii_columns, updated_by, updated_at")


class VersionSerializer(serializers.Serializer):
    version_id = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)
    columns = serializers.ListField(child=serializers.DictField())
    diff = serializers.DictField(help_text="added, removed, type_changed [{name, from, to}], first_seen")


class VersionsPageSerializer(serializers.Serializer):
    qualified_name = serializers.CharField()
    versions = VersionSerializer(many=True)
