"""The same compose file under compose v1 and v2, and with an AIRFLOW_UID other than 50000."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from support.stack import REPO, Stack, compose_command

V1 = ["docker-compose"]
V2 = ["docker", "compose"]


def installed(cmd: list[str]) -> bool:
    if shutil.which(cmd[0]) is None:
        return False
    return subprocess.run([*cmd, "version"], capture_output=True).returncode == 0


@pytest.mark.parametrize("cmd", [V1, V2], ids=["compose-v1", "compose-v2"])
def test_compose_file_is_accepted(cmd):
    if not installed(cmd):
        pytest.skip(f"{' '.join(cmd)} is not installed here")
    result = subprocess.run([*cmd, "config", "-q"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr.replace("`version` is obsolete", ""), result.stderr


@pytest.mark.stack
def test_stack_works_with_another_airflow_uid(tmp_path, figures):
    # docker-compose v1 when it is installed: the main stack tests already run the default command.
    cmd = V1 if installed(V1) else compose_command()
    stack = Stack(tmp_path, env={"AIRFLOW_UID": "4242"}, compose=cmd)
    try:
        stack.build()
        seconds = stack.up()
        figures.append(f"stack ({' '.join(cmd)}, AIRFLOW_UID=4242): up -d to all healthy {seconds:.1f} s")
        assert stack.exec("scheduler", "id", "-u").stdout.strip() == "4242"
        stack.wait_for_dag("LocalIngestionDagv2")
        run_id = stack.trigger("LocalIngestionDagv2")
        assert stack.wait_for_run("LocalIngestionDagv2", run_id, timeout=120) == "success"
        assert stack.task_log("LocalIngestionDagv2", run_id, "ingest").status_code == 200

        task_logs = [p for p in (stack.dir / "logs").rglob("*") if p.is_file() and "dag_id=" in str(p)]
        assert task_logs, "no task log files were written to logs/"
        assert {p.stat().st_uid for p in task_logs} == {4242}
        assert "PermissionError" not in stack.logs()
    finally:
        stack.down()


@pytest.mark.parametrize("cmd", [V1, V2], ids=["compose-v1", "compose-v2"])
def test_a_setting_missing_from_env_is_named(cmd, tmp_path):
    if not installed(cmd):
        pytest.skip(f"{' '.join(cmd)} is not installed here")
    shutil.copy(REPO / "docker-compose.yaml", tmp_path)
    lines = (REPO / ".env").read_text().splitlines()
    (tmp_path / ".env").write_text("\n".join(x for x in lines if not x.startswith("AIRFLOW_UID=")) + "\n")
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_UID"}
    result = subprocess.run([*cmd, "config", "-q"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert result.returncode != 0
    assert "set AIRFLOW_UID in .env" in result.stderr


def test_every_env_setting_is_used_by_a_compose_file():
    compose = (REPO / "docker-compose.yaml").read_text() + (REPO / "docker-compose.celery.yaml").read_text()
    settings = [line.split("=", 1)[0] for line in (REPO / ".env").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert settings
    unused = [name for name in settings if "${" + name not in compose]
    assert unused == [], f"set in .env but never passed on by docker-compose*.yaml: {unused}"
