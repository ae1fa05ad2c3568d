"""The lifecycle script really writes the datasets and a ready notebook (run here with bash)."""

from __future__ import annotations

import json
import subprocess

import pytest

from workspaces import lifecycle

DATASETS = [
    {"name": "sales.orders", "database": "sales", "table": "orders", "location": "s3://lake/sales/orders/",
     "format": "parquet"},
    {"name": "sales.it's", "database": "sales", "table": "it's", "location": "s3://lake/sales/odd/", "format": ""},
]


def run_script(tmp_path, emr_cluster_id: str = "") -> dict:
    home = tmp_path / "datahub"
    script = lifecycle.script(lifecycle.manifest(DATASETS, emr_cluster_id, "eu-central-1"), home=str(home))
    subprocess.run(["bash", "-c", script], check=True, capture_output=True, timeout=30,
                   env={"PATH": "/usr/bin:/bin"})
    assert json.loads((home / "datasets.json").read_text())["datasets"] == DATASETS
    return json.loads((home / "datasets.ipynb").read_text())


def test_the_script_writes_the_manifest_and_an_athena_cell_per_dataset(tmp_path):
    notebook = run_script(tmp_path)
    sources = ["".join(cell["source"]) for cell in notebook["cells"]]
    assert "s3://lake/sales/orders/" in sources[0]
    assert any('SELECT * FROM "sales"."orders" LIMIT 100' in s for s in sources)
    assert not any(s.startswith("%%sql") for s in sources)


def test_with_emr_each_dataset_also_gets_a_spark_sql_cell(tmp_path):
    notebook = run_script(tmp_path, emr_cluster_id="j-TEST")
    spark_cells = [c["source"] for c in notebook["cells"] if c["source"].startswith("%%sql")]
    assert spark_cells[0] == "%%sql\nSELECT * FROM `sales`.`orders` LIMIT 100"


def test_too_many_datasets_for_one_script_are_refused():
    many = [dict(DATASETS[0], name=f"sales.t{i}", location="s3://lake/" + "x" * 400) for i in range(60)]
    with pytest.raises(ValueError, match="Too many datasets"):
        lifecycle.encoded_script(lifecycle.manifest(many))
