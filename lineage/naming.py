"""Dataset identities per the OpenLineage naming conventions (pure, no ORM).

https://openlineage.io/docs/spec/naming/ :

==========  ==========================================  ===========================
source      namespace                                   name
==========  ==========================================  ===========================
Glue        ``arn:aws:glue:{region}:{account id}``      ``table/{database}/{table}``
S3          ``s3://{bucket}``                           ``{object key / path}``
Athena      ``awsathena://athena.{region}.amazonaws.com``  ``{catalog}.{database}.{table}``
Hive        ``hive://{host}:{port}``                    ``{database}.{table}``
JDBC        ``postgres://{host}:{port}``, ``mysql://…``  ``{database}.{schema}.{table}``
==========  ==========================================  ===========================

``normalize`` makes equal identities compare equal (``s3a://`` is ``s3://``,
no trailing slash); ``catalog_reference`` says which catalog table an identity
may be (by Glue name or by S3 location), for ``lineage.services`` to look up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GLUE_NS = re.compile(r"^arn:aws:glue:(?P<region>[a-z0-9-]+):(?P<account>\d{12})$")
_GLUE_NAME = re.compile(r"^table/(?P<db>[^/]+)/(?P<table>[^/]+)$")
_ATHENA_NS = re.compile(r"^awsathena://athena\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_S3_SCHEMES = ("s3://", "s3a://", "s3n://")


@dataclass(frozen=True)
class CatalogReference:
    """What an identity says about a catalog table: a Glue name, or an S3 object URI.

    ``region``/``account`` narrow the Glue name when the identity carries them.
    """

    database: str | None = None
    table: str | None = None
    region: str | None = None
    account: str | None = None
    s3_uri: str | None = None


def normalize(namespace: str, name: str) -> tuple[str, str]:
    """The identity under which a dataset is stored (equal datasets get equal keys)."""
    namespace = namespace.strip()
    name = name.strip()
    for scheme in _S3_SCHEMES[1:]:
        if namespace.startswith(scheme):
            namespace = "s3://" + namespace[len(scheme):]
    if namespace.startswith("s3://"):
        namespace = namespace.rstrip("/")
        name = name.strip("/")
    elif namespace == "file" or namespace.startswith(("file:", "hdfs://", "gs://", "abfss://", "wasbs://")):
        name = name.rstrip("/") or name
    return namespace, name


def s3_uri(path: str) -> str:
    """``s3a://b/k/`` → ``s3://b/k`` (the form catalog locations are compared in)."""
    for scheme in _S3_SCHEMES:
        if path.startswith(scheme):
            return "s3://" + path[len(scheme):].rstrip("/")
    return path.rstrip("/")


def glue_identity(region: str, account: str, database: str, table: str) -> tuple[str, str]:
    return f"arn:aws:glue:{region}:{account}", f"table/{database}/{table}"


def catalog_reference(namespace: str, name: str) -> CatalogReference | None:
    """The catalog table this identity may name, or None (JDBC, Kafka, files…)."""
    glue = _GLUE_NS.match(namespace)
    if glue:
        parts = _GLUE_NAME.match(name)
        if parts:
            return CatalogReference(parts["db"], parts["table"], glue["region"], glue["account"])
        return None
    athena = _ATHENA_NS.match(namespace)
    if athena:
        pieces = name.split(".")
        if len(pieces) == 3 and pieces[0].lower() == "awsdatacatalog":
            return CatalogReference(pieces[1], pieces[2], athena["region"])
        if len(pieces) == 2:
            return CatalogReference(pieces[0], pieces[1], athena["region"])
        return None
    if namespace.startswith(_S3_SCHEMES):
        return CatalogReference(s3_uri=s3_uri(f"{namespace.rstrip('/')}/{name.lstrip('/')}"))
    return None


def location_matches(location: str, uri: str) -> bool:
    """True when ``uri`` is the table location itself or an object under it."""
    location = s3_uri(location)
    return bool(location) and (uri == location or uri.startswith(location + "/"))


# A node is "NAMESPACE/NAME"; both may hold slashes. Longest we store (lineage.models): 512 + 1 + 1024.
MAX_NODE_CHARS = 1537
# A namespace holds few slashes ("s3://bucket", "postgres://host:5432", "arn:aws:glue:…"); splits
# after more than this many are not tried, so one name costs O(length), never O(length x slashes).
MAX_NAMESPACE_SLASHES = 6


def split_node(text: str) -> list[tuple[str, str]]:
    """The normalized (namespace, name) pairs a node string may mean, one per slash it could be split
    at (at most ``MAX_NAMESPACE_SLASHES``, and a namespace of at most 512 characters).

    Raises ValueError when the text is longer than ``MAX_NODE_CHARS``: the caller answers 400
    before any work (a 60 KB name of slashes once cost quadratic time and memory)."""
    if len(text) > MAX_NODE_CHARS:
        raise ValueError(f"A node name is at most {MAX_NODE_CHARS} characters (NAMESPACE/NAME).")
    pairs: list[tuple[str, str]] = []
    at = text.find("/", 1)
    while at != -1 and at < len(text) - 1 and at <= 512 and len(pairs) < MAX_NAMESPACE_SLASHES:
        pairs.append(normalize(text[:at], text[at + 1:]))
        at = text.find("/", at + 1)
    return pairs
