"""The lite stack end to end: built and started by docker compose from the project's own files."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests
from support.api import form_login
from support.stack import PROJECT_SERVICES

EXAMPLE = "LocalIngestionDagv2"

NEW_DAG = '''
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("dropped_in_while_running", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="noop")
'''


def login(stack, username: str, password: str) -> requests.Session:
    """Log in through the web form, as a browser would (support.api.form_login)."""
    return form_login(stack.base_url, stack.major, username, password)


def is_logged_in(session: requests.Session, stack) -> bool:
    if stack.major < 3:
        return session.get(f"{stack.base_url}/home", timeout=30, allow_redirects=False).status_code == 200
    # Airflow 3's UI holds the login as a JWT in the _token cookie and sends it to API v2
    token = session.cookies.get("_token")
    if not token:
        return False
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(f"{stack.api.root}/dags", headers=headers, timeout=30).status_code == 200


def test_every_container_is_healthy(stack):
    for service in (s for s in PROJECT_SERVICES if s != "airflow-init"):
        (cid,) = stack.container_ids(service)
        assert stack.inspect(cid, "{{.State.Health.Status}}") == "healthy", service


def test_init_ran_once_and_succeeded(stack):
    (cid,) = stack.container_ids("airflow-init", all_states=True)
    assert stack.inspect(cid, "{{.State.Status}} {{.State.ExitCode}}") == "exited 0"
    assert 'admin user "airflow" ready (created)' in stack.logs("airflow-init")


def test_airflow_containers_run_as_airflow_uid_group_0(stack):
    for service in ("webserver", "scheduler", "triggerer"):
        out = stack.exec(service, "id", "-u").stdout.strip(), stack.exec(service, "id", "-g").stdout.strip()
        assert out == (stack.setting("AIRFLOW_UID"), "0"), service


def test_task_logs_belong_to_the_stacks_airflow_uid(stack, example_run):
    # (the 3.x stack runs with AIRFLOW_UID=4242, a uid without a passwd entry in the image)
    task_logs = [p for p in (stack.dir / "logs").rglob("*") if p.is_file() and "dag_id=" in str(p)]
    assert task_logs, "no task log files were written to logs/"
    assert {p.stat().st_uid for p in task_logs} == {int(stack.setting("AIRFLOW_UID"))}
    assert "PermissionError" not in stack.logs()


def test_form_login_works_and_a_wrong_password_is_refused(stack):
    assert is_logged_in(login(stack, "airflow", "airflow"), stack)
    assert not is_logged_in(login(stack, "airflow", "wrong-password"), stack)


def test_rest_api_refuses_calls_without_or_with_wrong_credentials(stack):
    url = f"{stack.api.root}/dags"
    assert requests.get(url, timeout=30).status_code in {401, 403}
    if stack.major < 3:  # API v1, basic auth
        assert requests.get(url, auth=("airflow", "nope"), timeout=30).status_code in {401, 403}
        assert requests.get(url, auth=("airflow", "airflow"), timeout=30).status_code == 200
    else:  # API v2: a JWT for the right password only, and only a valid JWT opens the API
        assert stack.api.token(password="nope").status_code in {401, 403}
        assert requests.get(url, headers={"Authorization": "Bearer not-a-token"}, timeout=30
                            ).status_code in {401, 403}
        token = stack.api.token().json()["access_token"]
        assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200


def test_example_dag_is_listed_without_import_errors(stack):
    stack.wait_for_dag(EXAMPLE)
    assert stack.api.import_errors() == []
    tasks = stack.get(f"/dags/{EXAMPLE}/tasks").json()["tasks"]
    assert {t["task_id"]: t["downstream_task_ids"] for t in tasks} == {"wget": ["ingest"], "ingest": []}


def test_example_dag_run_succeeds_and_its_task_logs_are_readable(stack, example_run):
    states = {ti["task_id"]: ti["state"] for ti in stack.task_instances(EXAMPLE, example_run)}
    assert states == {"wget": "success", "ingest": "success"}
    for task_id in states:
        # (a secret_key mismatch between the components shows as HTTP 403 here)
        assert "Hello world" in stack.task_log(EXAMPLE, example_run, task_id)


def test_a_dag_file_dropped_into_dags_is_listed_within_30_s(stack, figures):
    (stack.dir / "dags" / "dropped_in_while_running.py").write_text(NEW_DAG)
    t0 = time.monotonic()
    stack.wait_for_dag("dropped_in_while_running", timeout=30)
    figures.append(f"new DAG file listed after {time.monotonic() - t0:.1f} s")


def test_postgres_is_not_published_and_the_ui_only_on_loopback(stack):
    (pg,) = stack.container_ids("postgres")
    assert stack.inspect(pg, "{{json .NetworkSettings.Ports}}").count("HostPort") == 0
    (web,) = stack.container_ids("webserver")
    assert stack.inspect(web, '{{(index (index .NetworkSettings.Ports "8080/tcp") 0).HostIp}}') == "127.0.0.1"


CLIENT_BINARY = r"/usr/lib/postgresql/\d+/bin/{tool}"


def test_healthchecks_run_the_postgresql_clients_themselves_not_debians_perl_wrapper(stack):
    """/usr/bin/psql and pg_isready are pg_wrapper, a Perl script costing ~20 ms of CPU per call before
    the client itself; the healthchecks call them every few seconds (Dockerfile, docker-compose.yaml)."""
    for tool in ("psql", "pg_isready", "pg_dump", "pg_restore"):
        path = stack.exec("scheduler", "sh", "-c", f'readlink -f "$(command -v {tool})"').stdout.strip()
        assert re.fullmatch(CLIENT_BINARY.format(tool=tool), path), f"{tool}: {path}"
    # Postgres's check, under the official image's PATH, which ends with the server's directory
    # (docker-library/postgres: `ENV PATH $PATH:/usr/lib/postgresql/$PG_MAJOR/bin`), so that a bare
    # pg_isready finds pg_wrapper first; set here whatever PATH the running image has.
    (pg,) = stack.container_ids("postgres")
    kind, check = json.loads(stack.inspect(pg, "{{json .Config.Healthcheck.Test}}"))
    assert kind == "CMD-SHELL" and check.count("exec pg_isready") == 1, check
    env_prefix = check.split("exec pg_isready")[0]
    official_path = "/usr/local/bin:/usr/bin:/bin:/usr/lib/postgresql/$PG_MAJOR/bin"
    found = stack.exec("postgres", "sh", "-c", f'PATH="{official_path}"; {env_prefix}'
                       """sh -c 'readlink -f "$(command -v pg_isready)"'""").stdout.strip()
    assert re.fullmatch(CLIENT_BINARY.format(tool="pg_isready"), found), found


def test_a_forked_airflow_process_never_shares_its_parents_database_connection(stack):
    # The scheduler forks its health-check server after its pool holds a connection; sharing it
    # hung the scheduler at start (/health 503 for ever). scripts/airflow_local_settings.py
    # gives every forked child a fresh pool and leaves the parent's connections open.
    probe = (Path(__file__).parent / "fork_probe.py").read_text()
    out = stack.exec("scheduler", "python", "-", input=probe).stdout.strip().splitlines()[-1]
    pids = dict(item.split("=") for item in out.split())
    assert pids["child"] != pids["parent"], out
    assert pids["parent_after"] == pids["parent"], out


def test_the_courses_by_hand_db_upgrade_still_works_and_db_migrate_on_both(stack):
    # by hand, as the README says after an upgrade: on 2.11 the course's `db upgrade` (the deprecated
    # alias of `db migrate`, the course's "Database error" fix); Airflow 3 removed it: `db migrate`
    command = ["db", "upgrade"] if stack.major < 3 else ["db", "migrate"]
    result = stack.compose("run", "--rm", "webserver", "airflow", *command)
    output = result.stdout + result.stderr
    if stack.major < 3:
        assert "deprecated" in output.lower(), output[-2000:]
    else:
        assert "Database migration done!" in output, output[-2000:]


@pytest.mark.airflow2_only  # the Dockerfile and .dockerignore are the same for both majors
def test_a_key_in_google_never_reaches_the_image(stack):
    import subprocess
    import uuid

    key = stack.dir / "google" / "google_credentials.json"
    key.write_text('{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----"}')
    tag = f"airflow-lite-keycheck:{uuid.uuid4().hex[:8]}"
    try:
        args = [f"--build-arg=AIRFLOW_VERSION={stack.setting('AIRFLOW_VERSION')}",
                f"--build-arg=PYTHON_VERSION={stack.setting('AIRFLOW_PYTHON_VERSION')}"]
        subprocess.run(["docker", "build", "-q", *args, "-t", tag, "."], cwd=stack.dir, check=True,
                       capture_output=True)
        # by name anywhere in the image, and by content where the build context could land
        found = subprocess.run(["docker", "run", "--rm", "--entrypoint", "bash", tag, "-c",
                                "find / -xdev -name google_credentials.json; "
                                "grep -rl 'BEGIN PRIVATE KEY' /opt/airflow; true"],
                               capture_output=True, text=True, check=True)
        assert found.stdout == "", found.stdout
    finally:
        key.unlink()
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


def test_a_broken_dag_file_shows_as_an_import_error(stack):
    broken = stack.dir / "dags" / "broken_on_purpose.py"
    broken.write_text("from airflow import DAG\nraise RuntimeError('this DAG is broken on purpose')\n")
    try:
        deadline = time.monotonic() + 30
        while True:
            errors = stack.api.import_errors()
            hits = [e for e in errors if e["filename"].endswith("broken_on_purpose.py")]
            if hits:
                assert "broken on purpose" in hits[0]["stack_trace"]
                break
            assert time.monotonic() < deadline, f"no import error listed after 30 s: {errors}"
            time.sleep(0.5)
    finally:
        broken.unlink()
