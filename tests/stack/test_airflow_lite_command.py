"""./airflow-lite, the one command on top of compose: --help and a clear usage error anywhere, and each
everyday subcommand against the shared stack of each major (2.11.2 under compose v2, 3.3.2 under compose
v1 when installed), driven the way a user's shell would (COMPOSE_PROJECT_NAME, COMPOSE_FILE, the port).

up, down, restore, upgrade and rollback change the whole stack: tests/stack/test_upgrade.py runs them on
its own stack.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from stack.test_stack import login
from support.cli import airflow_lite, output

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "airflow-lite"
SUBCOMMANDS = ("up", "down", "status", "logs", "airflow", "check-dags", "test-dag", "backup", "restore",
               "upgrade", "rollback")
EXAMPLE = "LocalIngestionDagv2"

# Loads on 2.11.2; on Airflow 3 `schedule_interval` fails (dag_check's own rule, fixable) and the old
# BashOperator path is only deprecated (ruff's AIR312: proof that ruff ran, in the image).
COURSE_STYLE_DAG = '''\
from datetime import datetime

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("course_style", schedule_interval="@daily", start_date=datetime(2021, 1, 1), catchup=False):
    BashOperator(task_id="hello", bash_command="echo hello")
'''


def run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The checkout's own script, from another directory; only for what fails before touching Docker."""
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


# --- no stack needed --------------------------------------------------------------------------------------
def test_help_on_the_script_and_on_every_subcommand(tmp_path):
    top = run_script("--help", cwd=tmp_path)
    assert top.returncode == 0, output(top)
    for command in SUBCOMMANDS:
        assert re.search(rf"^  {command}\b", top.stdout, re.M), command
        result = run_script(command, "--help", cwd=tmp_path)
        assert result.returncode == 0, output(result)
        assert result.stdout.startswith(f"Usage: ./airflow-lite {command}"), result.stdout


@pytest.mark.parametrize(("args", "message"), [
    ((), "Usage: ./airflow-lite COMMAND"),
    (("nosuch",), "unknown command 'nosuch'"),
    (("status", "extra"), "status takes no arguments"),
    (("up", "--bogus"), "unknown option --bogus"),
    (("down", "--bogus"), "unknown argument --bogus"),
    (("logs", "--tail", "many"), "--tail needs a number"),
    (("airflow",), "airflow needs a command"),
    (("check-dags", "--target", "4"), "--target is 2 or 3, not '4'"),
    (("check-dags", "--bogus"), "unknown option --bogus"),
    (("check-dags", "no/such/folder"), "no such file or directory: no/such/folder"),
    (("test-dag",), "test-dag takes DAG_ID and an optional DATE"),
    (("backup", "now"), "backup takes no arguments"),
    (("restore",), "restore needs a FILE"),
    (("upgrade",), "upgrade needs a VERSION"),
    (("upgrade", "three"), "'three' is not an Airflow release"),
    (("rollback", "a.tar", "b.tar"), "rollback takes one BACKUP"),
])
def test_bad_arguments_exit_2_and_say_what_is_wrong(tmp_path, args, message):
    result = run_script(*args, cwd=tmp_path)
    assert result.returncode == 2, output(result)
    assert message in result.stderr, result.stderr


# --- the shared stack, on both majors ---------------------------------------------------------------------
def test_status_shows_each_component_the_version_and_the_ui(stack):
    result = airflow_lite(stack, "status")
    assert result.returncode == 0, output(result)
    for service in ("postgres", "webserver", "scheduler", "triggerer", "retention"):
        assert re.search(rf"^{service}\s+healthy$", result.stdout, re.M), result.stdout
    assert f"Airflow {stack.setting('AIRFLOW_VERSION')} " in result.stdout
    assert f"UI: http://localhost:{stack.port} " in result.stdout
    # on 2.11 it names the way out of end of life
    assert ("./airflow-lite upgrade 3.3.2" in result.stdout) == (stack.major == 2)


def test_logs_of_one_component_and_a_wrong_name(stack):
    result = airflow_lite(stack, "logs", "--tail", "5", "scheduler")
    assert result.returncode == 0, output(result)
    # (compose v1 starts with "Attaching to <container>")
    lines = [line for line in result.stdout.splitlines()
             if line.strip() and not line.startswith("Attaching to")]
    assert lines and all(line.startswith("scheduler") for line in lines), lines
    wrong = airflow_lite(stack, "logs", "schedular")
    assert wrong.returncode == 2 and "no component 'schedular'" in wrong.stderr, output(wrong)
    assert "scheduler" in wrong.stderr  # the right names are listed


def test_airflow_runs_any_airflow_command_in_the_stack(stack):
    result = airflow_lite(stack, "airflow", "dags", "list", "-o", "plain")
    assert result.returncode == 0, output(result)
    assert EXAMPLE in result.stdout
    missing = airflow_lite(stack, "airflow", "variables", "get", "no_such_variable")
    assert missing.returncode != 0, output(missing)  # Airflow's exit code comes through


def test_check_dags_runs_the_whole_check_with_ruff_in_a_one_off_container(stack):
    folder = stack.dir / "course"
    folder.mkdir(exist_ok=True)
    dag = folder / "course_style.py"
    dag.write_text(COURSE_STYLE_DAG)

    on3 = airflow_lite(stack, "check-dags", "--target", "3", "course")
    assert on3.returncode == 1, output(on3)
    assert "course/course_style.py:6:" in on3.stdout and "schedule_interval" in on3.stdout, on3.stdout
    assert "AIR312" in on3.stdout, on3.stdout  # ruff's AIR3 rules ran, in the image
    assert "did not run" not in on3.stderr, on3.stderr
    # from another directory, a relative path, Airflow 2's target: nothing breaks there
    on2 = airflow_lite(stack, "check-dags", "--target", "2", "course_style.py", cwd=folder)
    assert on2.returncode == 0, output(on2)

    fixed = airflow_lite(stack, "check-dags", "--fix", "--target", "3", "course")
    assert fixed.returncode == 0, output(fixed)
    assert 'schedule="@daily"' in dag.read_text()
    backup = folder / "course_style.py.bak"
    assert backup.read_text() == COURSE_STYLE_DAG
    assert dag.stat().st_uid == backup.stat().st_uid == os.getuid()  # still the user's files


def test_test_dag_runs_a_dag_once_and_prints_its_task_logs(stack):
    result = airflow_lite(stack, "test-dag", EXAMPLE, "2021-06-02")
    assert result.returncode == 0, output(result)
    assert "Hello world" in result.stdout  # what the tasks' bash commands print, from their logs
    assert f"{EXAMPLE}: the run succeeded" in result.stderr
    missing = airflow_lite(stack, "test-dag", "no_such_dag")
    assert missing.returncode != 0, output(missing)


def test_backup_writes_one_private_file(stack):
    result = airflow_lite(stack, "backup")
    assert result.returncode == 0, output(result)
    name = re.search(r"backup: (backups/airflow-lite-\d{8}T\d{6}Z\.tar)", result.stderr).group(1)
    assert (stack.dir / name).stat().st_mode & 0o777 == 0o600


@pytest.mark.airflow2_only
def test_the_airflow2_ui_says_end_of_life_and_names_the_upgrade_command(stack):
    page = login(stack, "airflow", "airflow").get(f"{stack.base_url}/home", timeout=30).text
    assert "end of life" in page and "./airflow-lite upgrade 3.3.2" in page, page[:3000]
