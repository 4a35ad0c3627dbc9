"""The corpus inside the Airflow images: which course DAGs load as is on Airflow 3.3.2 and that all of
them load after `--fix` (same tasks and wiring as on 2.11.2); and the check itself running offline in
the official 2.11.2 image, which has no ruff."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_dag_check import CASES

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("course_dags")
PROBE = Path(__file__).with_name("dagbag_probe.py")
AIRFLOW3 = "apache/airflow:3.3.2-python3.11"
AIRFLOW2 = "apache/airflow:2.11.2-python3.11"

pytestmark = pytest.mark.images


def readable_copy(src: Path, dest: Path) -> Path:
    """A copy the image's airflow user (uid 50000) can read through a bind mount."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))
    for p in [dest, *dest.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest


def in_image(image: str, folder: Path, *args: str) -> subprocess.CompletedProcess:
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.fail(f"image {image} is not available locally")
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python",
         "-e", "AIRFLOW__CORE__LOAD_EXAMPLES=False", "-e", "AIRFLOW__CORE__DAGS_FOLDER=/dags",
         "-e", "PYTHONWARNINGS=ignore", "-e", "PYTHONPATH=/opt/airflow/plugins",
         "-v", f"{folder}:/dags", "-v", f"{PROBE}:/probe.py:ro",
         "-v", f"{ROOT / 'plugins' / 'dag_check'}:/opt/airflow/plugins/dag_check:ro",
         image, *args], capture_output=True, text=True, timeout=300)


def probe(image: str, folder: Path) -> dict:
    proc = in_image(image, folder, "/probe.py", "/dags")
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert lines, f"probe failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


def test_course_dags_on_airflow_3_as_written_and_after_fix(tmp_path, dag_check, load_dags):
    original = readable_copy(CORPUS, tmp_path / "original")
    as_written = probe(AIRFLOW3, original)
    for name, case in CASES.items():
        if case.dag_id is not None:
            assert (name not in as_written["import_errors"]) == case.loads_on_3, name

    fixed = readable_copy(CORPUS, tmp_path / "fixed")
    assert dag_check("--fix", ".", cwd=fixed).returncode == 0
    for bak in fixed.glob("*.bak"):
        bak.unlink()
    on_3 = probe(AIRFLOW3, fixed)
    assert on_3["import_errors"] == {}
    on_2 = load_dags(fixed)
    wiring = {d: v["tasks"] for d, v in on_2["dags"].items()}
    assert {d: v["tasks"] for d, v in on_3["dags"].items()} == wiring
    assert set(on_3["dags"]) == {c.dag_id for c in CASES.values() if c.dag_id}


def test_the_check_runs_offline_in_the_official_image_without_ruff(tmp_path):
    folder = readable_copy(CORPUS, tmp_path / "dags")
    proc = in_image(AIRFLOW2, folder, "-m", "dag_check", "/dags")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ("/dags/data_ingestion_gcs_dag.py:10: DC101 breaks on Airflow 2.11.2: "
            "BigQueryCreateExternalTableOperator was removed in apache-airflow-providers-google 17.0.0 "
            "(installed here: 20.0.0)") in proc.stdout
    assert "/dags/postgres_table_dag.py:4: DC101" in proc.stdout
    assert "ruff's Airflow 3 rules (AIR3) did not run: ruff is not installed here" in proc.stderr
