"""The notebook lifecycle configuration: scripts that put the chosen datasets into the notebook (pure).

On create and on every start the script writes ``datahub/datasets.json`` (Glue
names and S3 locations) and a ``datahub/datasets.ipynb`` with a ready Athena
query per dataset (and a Spark one when an EMR cluster is attached) into the
notebook's home. The manifest travels base64-encoded so no dataset name can
break the shell quoting.
"""

from __future__ import annotations

import base64
import json
from typing import Any

# SageMaker accepts at most 16384 characters of base64 per script.
MAX_SCRIPT_CHARS = 16384

NOTEBOOK_HOME = "/home/ec2-user/SageMaker/datahub"

_BUILD_NOTEBOOK = r'''
import json, os, sys
home = sys.argv[1]
manifest = json.load(open(os.path.join(home, "datasets.json")))
def md(text): return {"cell_type": "markdown", "metadata": {}, "source": text}
def code(text): return {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": text}
cells = [md("# Datasets of this workspace\n\n" + "\n".join(
    "- `%s` at `%s`" % (d["name"], d["location"]) for d in manifest["datasets"]))]
cells.append(code("import awswrangler as wr"))
for d in manifest["datasets"]:
    cells.append(md("## " + d["name"]))
    cells.append(code('df = wr.athena.read_sql_query(%r, database=%r)\ndf.head()'
                      % ('SELECT * FROM "%s"."%s" LIMIT 100' % (d["database"], d["table"]), d["database"])))
    if manifest.get("emr_cluster_id"):
        cells.append(code('%%%%sql\nSELECT * FROM `%s`.`%s` LIMIT 100' % (d["database"], d["table"])))
nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
json.dump(nb, open(os.path.join(home, "datasets.ipynb"), "w"), indent=1)
'''


def manifest(datasets: list[dict[str, Any]], emr_cluster_id: str = "", region: str = "") -> dict[str, Any]:
    return {"datasets": datasets, "emr_cluster_id": emr_cluster_id, "region": region}


def script(manifest_data: dict[str, Any], home: str = NOTEBOOK_HOME) -> str:
    """The bash script run on create and on start (idempotent: it rewrites the same files in ``home``)."""
    encoded = base64.b64encode(json.dumps(manifest_data, sort_keys=True).encode()).decode()
    lines = [
        "#!/bin/bash",
        "# Written by Data Hub Portal: the datasets of this workspace.",
        "set -e",
        f"HOME_DIR='{home}'",
        'mkdir -p "$HOME_DIR"',
        f"echo '{encoded}' | base64 -d > \"$HOME_DIR/datasets.json\"",
        "python3 - \"$HOME_DIR\" <<'DATAHUB_PY'",
        _BUILD_NOTEBOOK.strip(),
        "DATAHUB_PY",
    ]
    cluster = manifest_data.get("emr_cluster_id")
    if cluster:
        # Point sparkmagic at the cluster's Livy; the master's address is only known once it runs.
        lines += [
            f"MASTER=$(aws emr describe-cluster --region '{manifest_data.get('region', '')}' --cluster-id '{cluster}' "
            "--query Cluster.MasterPublicDnsName --output text || true)",
            'if [ -n "$MASTER" ] && [ -f /home/ec2-user/.sparkmagic/config.json ]; then',
            '  sed -i "s/localhost:8998/$MASTER:8998/g" /home/ec2-user/.sparkmagic/config.json',
            "fi",
        ]
    # The notebook user owns its files; harmless where that user does not exist.
    lines.append('chown -R ec2-user:ec2-user "$HOME_DIR" 2>/dev/null || true')
    return "\n".join(lines) + "\n"


def encoded_script(manifest_data: dict[str, Any]) -> str:
    """The script base64-encoded as SageMaker wants it. Raises ValueError when it is too long."""
    content = base64.b64encode(script(manifest_data).encode()).decode()
    if len(content) > MAX_SCRIPT_CHARS:
        raise ValueError(
            f"Too many datasets for one workspace: the notebook set-up script would be {len(content)} "
            f"characters, SageMaker allows {MAX_SCRIPT_CHARS}."
        )
    return content


def decode(content: str) -> str:
    return base64.b64decode(content).decode()
