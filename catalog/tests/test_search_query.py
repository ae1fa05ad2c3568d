"""The pure parts of search: word splitting, request parsing, the OpenSearch body, result shaping."""

from __future__ import annotations

import json

import pytest

from catalog.search.documents import COLUMN_COMMENT_CHARS_CAP, build_document
from catalog.search.query import BadSearchRequest, SearchRequest, build_search, build_suggest, parse_request, text_query
from catalog.search.results import highlight_text, matched_columns
from catalog.search.words import split_words, word_matches
from identity.roles import Role


def params(**kwargs: object) -> list[tuple[str, list[str]]]:
    return [(k, v if isinstance(v, list) else [str(v)]) for k, v in kwargs.items()]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("customer_orders", ["customer", "orders"]),
        ("CustomerOrders", ["customer", "orders"]),
        ("sales.customer-orders", ["sales", "customer", "orders"]),
        ("HTTPServerLog", ["http", "server", "log"]),
        ("core__patient", ["core", "patient"]),
        ("icd10Code", ["icd", "10", "code"]),
    ],
)
def test_it_splits_identifier_styles_into_words(name: str, words: list[str]) -> None:
    assert split_words(name) == words


def test_word_matching_tolerates_plural_and_one_typo_on_long_words_only() -> None:
    assert word_matches("claims", "claim")
    assert word_matches("customer", "custmer")
    assert not word_matches("order", "ordr")  # 4 letters: no typo allowed
    assert not word_matches("patient", "pxtixnt")


def test_it_parses_facets_repeated_values_and_caps_page_size() -> None:
    req = parse_request(params(q="  customer   orders ", hub=["finance", "sales"], layer="prepared", page=2, page_size=500))
    assert req.text == "customer orders"
    assert req.filters == {"hub": ("finance", "sales"), "layer": ("prepared",)}
    assert (req.page, req.page_size) == (2, 100)


@pytest.mark.parametrize(
    "bad",
    [params(q="x" * 501), params(colour="red"), params(page="abc"), params(page=0), params(page_size="-3")],
)
def test_it_refuses_bad_input_with_a_reason(bad: list[tuple[str, list[str]]]) -> None:
    with pytest.raises(BadSearchRequest):
        parse_request(bad)


def test_the_role_filter_sits_inside_the_query_so_counts_cannot_leak() -> None:
    body = build_search(SearchRequest(text="orders", filters={"hub": ("finance",)}), Role("consumer", "marketing"))
    role_filter = body["query"]["bool"]["filter"][0]
    assert {"terms": {"hub": ["marketing"]}} in role_filter["bool"]["should"]
    # Facet selections never restrict the query itself (that is the post_filter's job)…
    assert "finance" not in json.dumps(body["query"])
    assert body["post_filter"] == {"bool": {"filter": [{"terms": {"hub": ["finance"]}}]}}
    # …and each facet's counts apply the other facets' selections, not its own.
    assert body["aggs"]["own_hub"]["filter"] == {"bool": {"filter": []}}
    assert body["aggs"]["shared"]["filter"] == {"bool": {"filter": [{"terms": {"hub": ["finance"]}}]}}
    assert "layer" in body["aggs"]["shared"]["aggs"] and "hub" not in body["aggs"]["shared"]["aggs"]


def test_without_choices_facets_are_plain_terms_aggregations() -> None:
    aggs = build_search(SearchRequest(text="x"), Role("admin"))["aggs"]
    assert aggs["layer"] == {"terms": {"field": "layer", "size": 50}} and "shared" not in aggs


def test_admins_get_no_role_filter_and_no_role_sees_nothing() -> None:
    assert build_search(SearchRequest(text="x"), Role("admin"))["query"]["bool"]["filter"] == []
    nothing = build_search(SearchRequest(text="x"), None)["query"]["bool"]["filter"]
    assert nothing == [{"bool": {"must_not": {"match_all": {}}}}]


def test_query_syntax_only_reaches_match_and_term_queries() -> None:
    text = '"orders" AND (x OR y)* customer:1 \\'
    body = json.dumps(build_search(SearchRequest(text=text), Role("admin")))
    assert "query_string" not in body and "simple_query_string" not in body
    assert json.dumps(text.lower())[1:-1] in body  # the exact-name term gets the raw text, as data


def test_an_exact_name_outweighs_any_word_match_and_typos_are_only_allowed_on_long_words() -> None:
    body = build_search(SearchRequest(text="Core.Patient"), Role("admin"))
    # Issue 24: the scoring query sits inside a boosting query that demotes deprecated datasets, and
    # the text score is multiplied by the table's prior (issue 15).
    scoring = body["query"]["bool"]["must"][0]["boosting"]["positive"]["function_score"]["query"]["bool"]
    assert {"term": {"qualified_exact": {"value": "core.patient", "boost": 200.0}}} in scoring["should"]
    per_word = scoring["should"][0]["bool"]["should"]
    core, patient = (json.dumps(clause) for clause in per_word)
    assert '"fuzziness"' not in core and '"fuzziness": 1' in patient
    # Long words tolerate two edits (real misspellings of domain words often are two away).
    long_word = json.dumps(text_query("immunization"))
    assert '"fuzziness": 2' in long_word


def test_question_scaffolding_counts_little_and_never_alone() -> None:
    scoring = text_query("which table has immunizations")
    assert scoring is not None
    words = scoring["bool"]["should"][0]["bool"]
    content = words["must"][0]["bool"]
    assert content["minimum_should_match"] == 1 and len(content["should"]) == 1  # "immunization" alone must match
    assert [clause["dis_max"]["boost"] for clause in words["should"]] == [0.1, 0.1, 0.1]


def test_every_scored_search_multiplies_text_relevance_by_the_prior() -> None:
    body = build_search(SearchRequest(text="claims"), Role("admin"))
    # Inside the boosting query that demotes deprecated datasets (issue 24).
    function_score = body["query"]["bool"]["must"][0]["boosting"]["positive"]["function_score"]
    assert function_score["boost_mode"] == "multiply"
    assert function_score["functions"] == [{"field_value_factor": {"field": "prior", "missing": 1.0}}]


def test_an_empty_query_browses_by_name() -> None:
    body = build_search(SearchRequest(text="  "), Role("admin"))
    assert "must" not in body["query"]["bool"]
    assert body["sort"] == [{"qualified_exact": {"order": "asc"}}]


def test_a_page_beyond_the_result_window_asks_for_no_hits() -> None:
    body = build_search(SearchRequest(text="x", page=1000, page_size=100), Role("admin"))
    assert (body["from"], body["size"]) == (0, 0)


def test_suggest_needs_a_word_and_matches_every_typed_word_as_a_prefix() -> None:
    assert build_suggest(" .- ", Role("admin")) is None
    body = build_suggest("Cust_Ord", Role("admin"))
    match = body["query"]["bool"]["must"][0]["bool"]["should"][0]
    assert match == {"match": {"suggest": {"query": "cust ord", "operator": "and"}}}
    assert body["size"] == 10


def test_documents_merge_curation_and_search_every_column_without_carrying_them_for_display() -> None:
    columns = [{"name": f"col_{i}", "type": "int", "comment": "", "partition_key": False} for i in range(100)]
    doc = build_document(
        {"id": 7, "database": "sales", "name": "CustomerOrders", "owner": "glue-owner", "classification": "internal"},
        columns,
        {"description": "Orders placed by customers", "tags": ["gold"], "owner": "ana", "classification": ""},
    )
    assert doc["name_words"] == "customer order" and doc["name_compact"] == "customerorders"
    assert (doc["owner"], doc["classification"], doc["description"]) == ("ana", "internal", "Orders placed by customers")
    assert "columns" not in doc and len(doc["column_names"]) == 100 and "col_99" in doc["column_names"]
    assert doc["format"] is None  # empty facet values stay out of the document


def test_column_comments_reach_the_document_as_distinct_words_first_seen_first() -> None:
    columns = [
        {"name": "claim_id", "type": "string", "comment": "The identifier of the claim.", "partition_key": False},
        {"name": "payer", "type": "string", "comment": "The payer of the CLAIM (plan_id)", "partition_key": False},
        {"name": "n", "type": "int", "comment": "", "partition_key": False},
    ]
    doc = build_document({"id": 1, "database": "claims", "name": "medical_claim"}, columns)
    assert doc["column_comment_words"] == "the identifier of claim payer plan_id"

    many = [{"name": f"c{i}", "type": "int", "comment": f"word{i} " * 3, "partition_key": False} for i in range(5000)]
    capped = build_document({"id": 2, "database": "wide", "name": "t"}, many)["column_comment_words"]
    assert len(capped) <= COLUMN_COMMENT_CHARS_CAP and capped.startswith("word0 word1 ") and " word4999" not in capped


def test_highlights_escape_html_and_mark_matched_words() -> None:
    assert highlight_text("<b>customer</b>_orders", ["order"]) == "&lt;b&gt;customer&lt;/b&gt;_<em>orders</em>"
    assert highlight_text("nothing here", ["order"]) is None


def test_matched_columns_list_name_hits_before_comment_hits() -> None:
    cols = [
        {"name": "amount", "type": "decimal", "comment": "order amount"},
        {"name": "order_id", "type": "bigint", "comment": ""},
        {"name": "unrelated", "type": "int", "comment": ""},
    ]
    assert [c["name"] for c in matched_columns(cols, ["order"], "order")] == ["order_id", "amount"]
