"""Filters of the glossary's term list, shared by the page and the REST API (see portal.filtering)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from glossary.models import Term
from portal.filtering import FilterSet


class TermFilterSet(FilterSet):
    q = django_filters.CharFilter(method="filter_words", max_length=200,
                                  help_text="Words of a name, synonym, abbreviation or definition")
    state = django_filters.ChoiceFilter(choices=Term.State.choices, empty_label="Any state",
                                        help_text="Only terms in this state")
    owner_hub = django_filters.CharFilter(max_length=64, help_text="Only terms this hub keeps")

    class Meta:
        model = Term
        fields = ["q", "state", "owner_hub"]

    def filter_words(self, queryset: QuerySet[Term], name: str, value: str) -> QuerySet[Term]:
        for word in value.split():
            queryset = queryset.filter(Q(name__icontains=word) | Q(definition__icontains=word)
                                       | Q(synonyms__icontains=word) | Q(abbreviations__icontains=word))
        return queryset
