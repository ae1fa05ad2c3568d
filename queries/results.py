"""A finished query's result as CSV (the page's download and the API's), streamed row by row."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.http import StreamingHttpResponse

from queries.models import Query


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(query: Query) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(query.columns)
    for row in query.rows:
        yield writer.writerow(["" if v is None else v for v in row])


def csv_response(query: Query) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(query), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="query-{query.pk}.csv"'
    return response
