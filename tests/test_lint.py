"""ruff keeps the project's Python clean; our own DAGs must also pass Airflow 3's rules (AIR3)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The course's example DAG as the course wrote it (Airflow 2's schedule_interval). dags/ ships it with
# `schedule=`, which both majors accept, and otherwise unchanged: its Airflow 2 import paths still work
# on Airflow 3 (ruff's AIR311/AIR312 warnings; tests/dag_check proves nothing in it breaks there).
VERBATIM_EXAMPLE = "tests/dag_check/course_dags/local_ingestion_dag_v2.py"
SHIPPED_EXAMPLE = "dags/local_ingestion_dag_v2.py"


def ruff(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or "ruff"
    return subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True)


def test_ruff_passes_on_the_whole_project():
    result = ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_our_dags_pass_the_airflow_3_rules():
    ours = [str(p.relative_to(REPO)) for p in (REPO / "dags").glob("*.py")
            if p.name != Path(SHIPPED_EXAMPLE).name]
    assert ours, "no DAG files of our own found"
    result = ruff("check", "--select", "AIR3", "--isolated", *ours)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_verbatim_example_would_fail_them_and_the_shipped_one_only_warns():
    # proves the AIR3 check above can fail: the course's example uses schedule_interval (AIR301)
    result = ruff("check", "--select", "AIR3", "--isolated", VERBATIM_EXAMPLE)
    assert result.returncode != 0 and "AIR301" in result.stdout
    shipped = ruff("check", "--select", "AIR301,AIR302", "--isolated", SHIPPED_EXAMPLE)
    assert shipped.returncode == 0, shipped.stdout
