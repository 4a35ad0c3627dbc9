"""A fresh, throwaway Airflow on the host (own AIRFLOW_HOME, migrated SQLite DB) that sees the repo's
dags/ and taxi_ingest, and one DagRun of a DAG in it through `dag.test()` in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run_dag.py")


def fresh_airflow_env(home: Path, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """Environment for Airflow child processes; variables starting with AIRFLOW or any of `drop` are
    left out, so nothing from the caller's environment leaks into the pipeline under test."""
    (home / "plugins").mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", *drop))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        # An empty plugins folder: taxi_ingest comes from PYTHONPATH, as from plugins/ on sys.path
        # in the image.
        AIRFLOW__CORE__PLUGINS_FOLDER=str(home / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS="False",
        PYTHONPATH=str(ROOT / "plugins"),
    )
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    return env


def run_dag(env: dict[str, str], dag_id: str, logical_date: str,
            timeout: float = 600) -> tuple[dict, str]:
    """One DagRun of `dag_id` via `dag.test()`: ({"state", "tasks"} or {"import_errors"}, output)."""
    proc = subprocess.run([sys.executable, str(RUNNER), str(ROOT / "dags"), dag_id, logical_date],
                          env=env, capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no result (exit {proc.returncode}):\n{output[-5000:]}"
    return json.loads(lines[-1][len("RESULT "):]), output
