"""Helpers of the DAG check's tests: run `python -m dag_check` and load DAG folders in a DagBag, each in
a child process with its own AIRFLOW_HOME (so loads never share imported modules)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("course_dags")
PROBE = Path(__file__).with_name("dagbag_probe.py")
LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+): (?P<rule>\S+) (?P<scope>[^:]+): ")


def child_env(home: Path, dags: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False", PYTHONWARNINGS="ignore",
               PYTHONPATH=str(ROOT / "plugins"))
    if dags:
        env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    return env


@pytest.fixture(scope="session")
def dag_check(tmp_path_factory):
    """Run `python -m dag_check ARGS` in `cwd`: a CompletedProcess, plus .findings, the parsed lines
    [(file, line, rule, scope)]."""

    def run(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "dag_check", *args], cwd=cwd, capture_output=True,
                              text=True, timeout=120,
                              env=env or child_env(tmp_path_factory.mktemp("airflow_home")))
        proc.findings = [(m["file"], int(m["line"]), m["rule"], m["scope"])
                         for m in map(LINE.match, proc.stdout.splitlines()) if m]
        return proc

    return run


@pytest.fixture(scope="session")
def load_dags(tmp_path_factory):
    """DagBag of a folder on the host's Airflow 2.11.2: {"import_errors": {file: traceback},
    "dags": {dag_id: {"file", "tasks": {task_id: [downstream]}, "start"}}}."""

    def load(folder: Path, stub_removed: bool = False) -> dict:
        args = [sys.executable, str(PROBE), str(folder)] + (["--stub-removed"] if stub_removed else [])
        proc = subprocess.run(args, capture_output=True, text=True, timeout=300,
                              env=child_env(tmp_path_factory.mktemp("airflow_home"), folder))
        lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        assert lines, f"probe failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        return json.loads(lines[-1][len("RESULT "):])

    return load


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    dest = tmp_path / "dags"
    shutil.copytree(CORPUS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest
