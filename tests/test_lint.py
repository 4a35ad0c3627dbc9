"""ruff keeps the project's Python clean; our own DAGs must also pass Airflow 3's rules (AIR3)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The course's example DAG is kept verbatim, Airflow 2 syntax and all.
VERBATIM_EXAMPLE = "dags/local_ingestion_dag_v2.py"


def ruff(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    return subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True)


def test_ruff_passes_on_the_whole_project():
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_our_dags_pass_the_airflow_3_rules():
    ours = [str(p.relative_to(REPO)) for p in (REPO / "dags").glob("*.py")
            if p.name != Path(VERBATIM_EXAMPLE).name]
    assert ours, "no DAG files of our own found"
    result = ruff("check", "--select", "AIR3", "--isolated", *ours)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_verbatim_example_would_fail_them():
    # proves the AIR3 check above can fail: the Airflow 2 example uses schedule_interval
    result = ruff("check", "--select", "AIR3", "--isolated", VERBATIM_EXAMPLE)
    assert result.returncode != 0
