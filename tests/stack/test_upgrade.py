"""A 2.11.2 installation with history moves to Airflow 3.3.2 with `./airflow-lite upgrade`, which rolls
back by itself when something fails after the switch; `rollback`, `restore`, `up` and `down` too.

One stack of its own (compose v2), on 2.11.2 whatever .env picks: its copy's .env says 2.11.2 and
AIRFLOW_VERSION is not in the environment, as for a user, because `upgrade` switches .env. Started
with `./airflow-lite up` and filled with history: runs, the admin user, a connection with a password,
a variable and a loaded taxi month. Then, in this order, each test leaving the stack as the next expects:
1. a DAG that breaks only on Airflow 3 stops the upgrade at the DAG check, before anything changes;
2. a failure after the switch (the upgraded stack given 1 s to turn healthy, a setting the script
   reads: AIRFLOW_LITE_UPGRADE_WAIT_HEALTHY) ends with 2.11.2 running, healthy, the same history,
   .env byte for byte as before;
3. the upgrade succeeds and keeps the history; a new run succeeds;
4. setting AIRFLOW_VERSION back by hand is refused by airflow-init, and nothing starts;
5. `./airflow-lite rollback` goes back to 2.11.2 with the backup the upgrade took;
6. `./airflow-lite restore FILE --force` brings that backup back again; `down -v` removes it all.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from stack.conftest import stack_with_test_services
from support.api import AirflowApi
from support.cli import airflow_lite, output
from support.stack import AIRFLOW2_VERSION, AIRFLOW3_VERSION, COMPOSE_V2, compose_installed
from support.stack_taxi import month_rows, run_month, serve_month

EXAMPLE = "LocalIngestionDagv2"
SECRET = "pa55-kept-across-the-upgrade"
MONTHS = {"2021-03": {"yellow": 2000, "green": 500, "fhv": 500}}
BACKUP_NAME = re.compile(r"backups/airflow-lite-\d{8}T\d{6}Z-before-upgrade-to-" + re.escape(AIRFLOW3_VERSION)
                         + r"\.tar")

# Loads on 2.11.2, fails to parse on Airflow 3 (schedule_interval).
BREAKS_ON_3 = '''\
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("breaks_on_airflow3", schedule_interval="@daily", start_date=datetime(2021, 1, 1), catchup=False):
    EmptyOperator(task_id="noop")
'''


def stored_password(stack, conn_id: str) -> str:
    """Decrypted by the CLI in the scheduler: fails if the Fernet key or the data did not survive."""
    out = stack.exec("scheduler", "airflow", "connections", "get", conn_id, "--output", "json").stdout
    return json.loads(out[out.index("["):])[0]["password"]


def run_example(stack) -> str:
    stack.wait_for_dag(EXAMPLE, timeout=120)
    run_id = stack.trigger(EXAMPLE)
    assert stack.wait_for_run(EXAMPLE, run_id, timeout=180) == "success"
    return run_id


def history(stack) -> dict:
    """What an upgrade or a rollback must keep, as the running stack shows it (REST API of its major)."""
    stack.api = AirflowApi(stack.base_url, stack.major)
    return {
        "runs": {(dag, r["dag_run_id"]): r["state"] for dag in (EXAMPLE, "LocalIngestionDag")
                 for r in stack.api.runs(dag)},
        "password": stored_password(stack, "upgrade_secret"),
        "variable": stack.api.get("/variables/upgrade_me").json().get("value"),
        "rows": {taxi: month_rows(stack, taxi, month) for month, taxis in MONTHS.items() for taxi in taxis},
    }


def running_version(stack) -> str:
    (cid,) = stack.container_ids("webserver")
    env = stack.inspect(cid, "{{range .Config.Env}}{{println .}}{{end}}")
    return re.search(r"^AIRFLOW_LITE_AIRFLOW_VERSION=(\S+)$", env, re.M).group(1)


def steps(out: str) -> list[int]:
    """The step numbers the command announced ("[n/m m:ss] ...")."""
    return [int(n) for n in re.findall(r"^airflow-lite: \[(\d+)/\d+ \d+:\d\d\]", out, re.M)]


@pytest.fixture(scope="module")
def upgrade_stack(tmp_path_factory, figures, artifacts_dir):
    """(the stack, its history on 2.11.2, .env's bytes). Module scope: its tests run in file order."""
    s = stack_with_test_services(tmp_path_factory.mktemp("upgrade"), "tests/stack/docker-compose.faults.yaml",
                                 compose=COMPOSE_V2 if compose_installed(COMPOSE_V2) else None)
    s.env.pop("AIRFLOW_VERSION", None)
    env_file = s.dir / ".env"
    env_file.write_text(re.sub(r"^AIRFLOW_VERSION=.*$", f"AIRFLOW_VERSION={AIRFLOW2_VERSION}",
                               env_file.read_text(), flags=re.M))
    try:
        t0 = time.monotonic()
        up = airflow_lite(s, "up", timeout=600)
        assert up.returncode == 0, output(up)
        assert re.search(r"^webserver\s+healthy$", up.stdout, re.M), up.stdout  # it ends with the status
        figures.append(f"./airflow-lite up (Airflow {AIRFLOW2_VERSION}, images built): "
                       f"{time.monotonic() - t0:.1f} s")
        s.api = AirflowApi(s.base_url, s.major)
        run_example(s)
        s.api.create_connection({"connection_id": "upgrade_secret", "conn_type": "postgres",
                                 "host": "db.example", "login": "someone", "password": SECRET})
        s.api.create_variable("upgrade_me", "42")
        for month, rows in MONTHS.items():
            serve_month(s, month, rows)
            run_month(s, "LocalIngestionDag", month)
        before = history(s)
        assert before["rows"] == MONTHS["2021-03"] and before["password"] == SECRET
        assert before["variable"] == "42"
        yield s, before, env_file.read_bytes()
    finally:
        (artifacts_dir / "upgrade-stack.log").write_text(s.logs())
        s.down()


def test_a_dag_that_breaks_only_on_airflow3_stops_the_upgrade_before_anything_changes(upgrade_stack):
    stack, before, env_bytes = upgrade_stack
    containers = sorted(stack.container_ids())
    dag = stack.dir / "dags" / "breaks_on_airflow3.py"
    dag.write_text(BREAKS_ON_3)
    try:
        result = airflow_lite(stack, "upgrade", AIRFLOW3_VERSION)
    finally:
        dag.unlink()
    out = output(result)
    assert result.returncode == 1, out
    assert "dags/breaks_on_airflow3.py:6:" in out and "schedule_interval" in out, out
    assert "the upgrade stops here, nothing was changed" in out
    assert steps(out) == [1, 2]  # build, check: no backup, no switch
    assert (stack.dir / ".env").read_bytes() == env_bytes
    assert not list((stack.dir / "backups").glob("*.tar"))
    assert sorted(stack.container_ids()) == containers  # not one container restarted
    assert running_version(stack) == AIRFLOW2_VERSION


def test_a_failure_after_the_switch_rolls_back_to_2_11_2_with_the_same_history(upgrade_stack, figures):
    stack, before, env_bytes = upgrade_stack
    t0 = time.monotonic()
    result = airflow_lite(stack, "upgrade", AIRFLOW3_VERSION, timeout=900,
                          env={"AIRFLOW_LITE_UPGRADE_WAIT_HEALTHY": "1"})
    seconds = time.monotonic() - t0
    out = output(result)
    assert result.returncode == 1, out
    # it says what failed, rolls back step by step, and says where the backup is
    assert (f"UPGRADE FAILED at step 5 of 7: the stack on Airflow {AIRFLOW3_VERSION} did not get healthy "
            "within 1 s") in out, out
    assert steps(out) == [1, 2, 3, 4, 5, 1, 2, 3, 4], out
    assert f"rolled back: Airflow {AIRFLOW2_VERSION} is running again with the data of " in out
    backup = BACKUP_NAME.search(out.split("rolled back:")[1]).group(0)
    assert (stack.dir / backup).stat().st_mode & 0o777 == 0o600
    # 2.11.2 running and healthy, .env byte for byte as it was, the same history
    assert (stack.dir / ".env").read_bytes() == env_bytes
    assert stack.major == 2
    stack.wait_healthy(30)
    assert running_version(stack) == AIRFLOW2_VERSION
    assert history(stack) == before
    figures.append(f"./airflow-lite upgrade failing after the switch (1 s to turn healthy), rolled back to "
                   f"{AIRFLOW2_VERSION} and healthy: {seconds:.0f} s")


def test_the_upgrade_keeps_runs_connection_variable_and_month_and_a_new_run_succeeds(upgrade_stack, figures):
    stack, before, env_bytes = upgrade_stack
    t0 = time.monotonic()
    result = airflow_lite(stack, "upgrade", AIRFLOW3_VERSION, timeout=900)
    seconds = time.monotonic() - t0
    out = output(result)
    assert result.returncode == 0, out
    assert steps(out) == [1, 2, 3, 4, 5, 6, 7], out
    assert f"upgraded to Airflow {AIRFLOW3_VERSION}" in out
    assert "no new import errors; all " in out and f"{EXAMPLE} succeeded" in out
    # .env: only the AIRFLOW_VERSION line changed
    old, new = env_bytes.decode().splitlines(), (stack.dir / ".env").read_text().splitlines()
    assert [(a, b) for a, b in zip(old, new, strict=True) if a != b] == [
        (f"AIRFLOW_VERSION={AIRFLOW2_VERSION}", f"AIRFLOW_VERSION={AIRFLOW3_VERSION}")]
    assert stack.major == 3 and running_version(stack) == AIRFLOW3_VERSION
    after = history(stack)
    assert {k: v for k, v in after["runs"].items() if k in before["runs"]} == before["runs"]
    # a new run succeeded on 3.3.2: the upgrade's own check run, through the scheduler
    assert [state for (dag, run), state in after["runs"].items()
            if run.startswith("airflow_lite_upgrade_check_")] == ["success"]
    assert (after["password"], after["variable"], after["rows"]) == (
        before["password"], before["variable"], before["rows"])
    assert stack.api.token().status_code in {200, 201}  # the same login, now through /auth/token
    # the admin (kept, not created again by airflow-init) may read what only Airflow 3 has, assets: the
    # api-server synced the roles' permissions as it started (without them: HTTP 403)
    assert stack.api.get("/assets").status_code == 200
    figures.append(f"./airflow-lite upgrade {AIRFLOW2_VERSION} -> {AIRFLOW3_VERSION} with history "
                   f"(build cached, check, backup, switch, migrate, verify with a run): {seconds:.0f} s")


def test_going_back_by_hand_is_refused_and_nothing_starts(upgrade_stack):
    stack, before, _ = upgrade_stack
    stack.env["AIRFLOW_VERSION"] = AIRFLOW2_VERSION  # what a user setting it back in .env does
    try:
        back = stack.compose("up", "-d", check=False, timeout=900)
    finally:
        del stack.env["AIRFLOW_VERSION"]
    assert back.returncode != 0, output(back)  # airflow-init failed, so nothing started
    log = stack.logs("airflow-init")
    assert "the metadata database was migrated by a newer Airflow" in log, log[-2000:]
    assert "restore the backup taken before upgrading" in log
    assert not stack.container_ids("webserver") and not stack.container_ids("scheduler")  # none half-started
    assert {taxi: month_rows(stack, taxi, "2021-03") for taxi in before["rows"]} == before["rows"]


def test_rollback_goes_back_to_2_11_2_with_the_backup_the_upgrade_took(upgrade_stack, figures):
    stack, before, env_bytes = upgrade_stack
    t0 = time.monotonic()
    result = airflow_lite(stack, "rollback", timeout=900)
    out = output(result)
    assert result.returncode == 0, out
    # the last backup the upgrade took (the successful one's), found without being named
    last = sorted(p.name for p in (stack.dir / "backups").glob("*-before-upgrade-to-*.tar"))[-1]
    assert f"rolling back to Airflow {AIRFLOW2_VERSION} with backups/{last}" in out, out
    assert steps(out) == [1, 2, 3, 4]
    figures.append(f"./airflow-lite rollback {AIRFLOW3_VERSION} -> {AIRFLOW2_VERSION}: "
                   f"{time.monotonic() - t0:.0f} s")
    assert (stack.dir / ".env").read_bytes() == env_bytes
    assert running_version(stack) == AIRFLOW2_VERSION
    assert history(stack) == before


def test_restore_and_down(upgrade_stack):
    stack, before, _ = upgrade_stack
    stack.api.create_variable("after_the_backup", "1")
    (first,) = sorted((stack.dir / "backups").glob("*-before-upgrade-to-*.tar"))[:1]
    result = airflow_lite(stack, "restore", f"backups/{first.name}", "--force", timeout=900)
    assert result.returncode == 0, output(result)
    assert f"restored backups/{first.name}" in result.stderr
    assert stack.api.get("/variables/after_the_backup").status_code == 404
    assert history(stack) == before

    down = airflow_lite(stack, "down", "-v")
    assert down.returncode == 0, output(down)
    assert not stack.container_ids(all_states=True)
    status = airflow_lite(stack, "status")
    assert status.returncode == 1 and "not running" in status.stdout, output(status)
