"""What real machines do to the stack, on a stack of its own (`fault_stack`; each test leaves it healthy):

- A hung component heals itself within 60 s: its healthcheck (scripts/healthcheck.sh) ends the container
  after 3 failed checks in a row, and `restart: unless-stopped` starts it again. Docker alone would leave
  it `unhealthy` for ever.
- A load survives Postgres restarting mid-COPY, the scheduler's container dying, and `docker compose
  stop`: the run succeeds (the interrupted load retried; within 90 s of the restart or the kill), the
  month has exactly the file's rows, no staging table is left; until then the month keeps its previous
  rows.
- A full data folder fails the download naming the problem, leaves no partial file and no change.
- Backup and restore (`docker compose run --rm airflow-init backup | restore FILE`) bring a wiped
  stack back; a foreign or corrupt file, or a stack with data, is refused and nothing changes.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from support.faults import (
    BIG,
    DAG,
    SELF_HEALING,
    container,
    finish,
    freeze_and_time_healing,
    kill_scheduler_container,
    load_with_fault,
    restart_count,
    restart_postgres,
    wait_for_copy,
)
from support.stack import env_options
from support.stack_taxi import month_rows, pause, psql, run_month, serve_month

pytestmark = [pytest.mark.stack, pytest.mark.slow]

# A frozen component, from its freeze to restarted and healthy again. Scheduler and triggerer: their probe
# fails once the last heartbeat is 20 s old, then 3 checks 5 s apart, then a restart; webserver: 3 checks
# of up to 3 s each, 3 s apart, then a restart (scripts/healthcheck.sh). 62-89 s before, with 6 checks.
HEAL_BOUND = 60
# A fault while a month loads (Postgres restarted, the scheduler's container killed), to run success: the
# interrupted load retried after its 30 s retry delay. Without a bound on tasks left "running" by nobody
# (airflow-common.yaml, SCHEDULER_ZOMBIE_TASK_THRESHOLD) a Postgres restart took 338-348 s now and then.
RECOVERY_BOUND = 90


def assert_a_run_succeeds(stack):
    stack.wait_for_dag("LocalIngestionDagv2", timeout=120)
    run_id = stack.trigger("LocalIngestionDagv2")
    assert stack.wait_for_run("LocalIngestionDagv2", run_id, timeout=180) == "success"


# A task log far past the retention window (30 days): the retention service is unhealthy while it is there.
OVERDUE_LOG = "/opt/airflow/logs/dag_id=old/run_id=old/task_id=old/attempt=1.log"


def test_frozen_components_restart_by_themselves(fault_stack, figures):
    """The scheduler, webserver, triggerer and retention frozen at once (they heal independently: one wait
    instead of four), each timed from its freeze. Retention's health is that nothing is overdue, so a
    frozen one is noticed once something is: the overdue log planted here, deleted by its restart."""
    stack = fault_stack
    stack.exec("retention", "bash", "-c", f"mkdir -p $(dirname {OVERDUE_LOG}) && echo old > {OVERDUE_LOG} "
               f"&& touch -d '-40 days' {OVERDUE_LOG}")
    services = (*SELF_HEALING, "retention")
    healed = freeze_and_time_healing(stack, services, timeout=300)
    assert stack.exec("retention", "test", "-e", OVERDUE_LOG, check=False).returncode == 1
    for service in services:
        figures.append(f"self-healing: {service} frozen (SIGSTOP) to restarted and healthy "
                       f"{healed[service]:.0f} s")
        assert "health check failed 3 times in a row" in stack.logs(service)
    assert stack.api.health().status_code == 200
    assert_a_run_succeeds(stack)
    assert all(seconds <= HEAL_BOUND for seconds in healed.values()), healed


def test_failures_during_the_start_grace_do_not_count(fault_stack):
    """A slow start is not punished: before its first success, a component younger than
    AIRFLOW_LITE_START_GRACE may fail its check any number of times."""
    stack = fault_stack
    cid = container(stack, "webserver")
    before = stack.inspect(cid, "{{.RestartCount}}")

    def failing_probes(times: int, **env: str) -> list[str]:
        state = f"/tmp/probe-{len(env)}-{time.monotonic_ns()}"
        opts = env_options({**env, "AIRFLOW_LITE_HEALTH_STATE": state})
        for _ in range(times):
            probe = stack.compose("exec", "-T", *opts, "webserver", "/opt/airflow/scripts/healthcheck.sh",
                                  "false", check=False)
            assert probe.returncode == 1, probe.stderr
        return stack.exec("webserver", "cat", state).stdout.split()[1:]

    # within the grace (never healthy yet): 8 failures, more than the 3 that end a container, count 0
    assert failing_probes(8, AIRFLOW_LITE_START_GRACE="100000") == ["0", "0"]
    # the same probes after the grace do count (the limit raised so that this one does not restart it)
    counted = failing_probes(3, AIRFLOW_LITE_START_GRACE="0", AIRFLOW_LITE_UNHEALTHY_EXIT_AFTER="100")
    assert counted == ["3", "0"]
    assert stack.inspect(cid, "{{.RestartCount}}") == before


# --- backup and restore ------------------------------------------------------------------------------
MONTH = "2021-01"
ROWS = {"yellow": 3000, "green": 1500, "fhv": 2000}
SECRET = "s3cret-to-restore"
BACKUPS = "/opt/airflow/backups"


def airflow_init(stack, *args: str, check: bool = True):
    return stack.compose("run", "--rm", "airflow-init", *args, check=check, timeout=600)


def stored_password(stack, conn_id: str) -> str:
    """Decrypted by the CLI inside the scheduler: fails unless the Fernet key matches the database."""
    out = stack.exec("scheduler", "airflow", "connections", "get", conn_id, "--output", "json").stdout
    return json.loads(out)[0]["password"]


def fernet_key(stack) -> str:
    return stack.exec("scheduler", "cat", "/opt/airflow/secrets/fernet_key").stdout.strip()


def snapshot(stack) -> dict:
    """What a restore must bring back, as the running stack shows it."""
    variable = stack.api.get("/variables/restore_me")
    user = stack.api.user("analyst")
    runs = stack.api.runs("LocalIngestionDag")
    return {
        "variable": variable.json()["value"] if variable.ok else None,
        "user": user.json()["email"] if user.ok else None,
        "runs": sorted(r["dag_run_id"] for r in runs),
        "rows": {taxi: month_rows(stack, taxi, MONTH) if runs else 0 for taxi in ROWS},
        "fernet_key": fernet_key(stack),
    }


@pytest.fixture(scope="module")
def backup(fault_stack):
    """A month loaded, a connection with a password, a variable and a second user; then one backup."""
    stack = fault_stack
    serve_month(stack, MONTH, ROWS)
    run_month(stack, "LocalIngestionDag", MONTH)
    stack.api.create_connection({"connection_id": "restore_secret", "conn_type": "postgres",
                                 "host": "db.example", "login": "someone", "password": SECRET})
    stack.api.create_variable("restore_me", "42")
    stack.api.create_user({"username": "analyst", "password": "An4lyst-pass", "email": "analyst@example.com",
                           "first_name": "A", "last_name": "N", "roles": [{"name": "Viewer"}]})
    before = snapshot(stack)
    t0 = time.monotonic()
    out = airflow_init(stack, "backup")
    seconds = time.monotonic() - t0
    (path,) = (stack.dir / "backups").glob("airflow-lite-*.tar")
    try:
        yield {"path": path, "in_container": f"backups/{path.name}", "state": before, "seconds": seconds,
               "log": out.stderr}
    finally:  # files of AIRFLOW_UID: removed from inside, like Stack.down does for logs/
        stack.exec("scheduler", "bash", "-c", f"rm -f {BACKUPS}/*.tar", check=False)


def test_backup_is_one_private_file_with_both_databases_and_the_keys(fault_stack, backup, figures):
    figures.append(f"backup (one month loaded): {backup['seconds']:.1f} s, "
                   f"{backup['path'].stat().st_size / 1e6:.1f} MB")
    assert backup["path"].stat().st_mode & 0o777 == 0o600
    listing = fault_stack.exec("scheduler", "tar", "-tf", f"/opt/airflow/{backup['in_container']}").stdout
    assert set(listing.split()) == {"MANIFEST", "SHA256SUMS", "metadata.pgdump", "taxi.pgdump", "secrets/",
                                    "secrets/fernet_key", "secrets/secret_key", "secrets/jwt_secret"}
    assert "backup written" in backup["log"]


def test_restore_brings_a_wiped_stack_back(fault_stack, backup, figures):
    stack = fault_stack
    stack.compose("down", "-v")  # the README's "start over": database, history and keys gone
    stack.up()
    wiped = snapshot(stack)
    assert wiped["variable"] is None and wiped["runs"] == []
    assert wiped["fernet_key"] != backup["state"]["fernet_key"]

    t0 = time.monotonic()
    stack.compose("stop", "webserver", "scheduler", "triggerer")
    airflow_init(stack, "restore", backup["in_container"])
    stack.up()
    figures.append(f"restore into a wiped stack, stop to healthy again: {time.monotonic() - t0:.0f} s")
    assert snapshot(stack) == backup["state"]
    assert all(rows == ROWS[taxi] for taxi, rows in backup["state"]["rows"].items())
    assert stored_password(stack, "restore_secret") == SECRET  # saved passwords still decrypt
    assert stack.api.can_log_in("analyst", "An4lyst-pass")


def write_in_backups(stack, name: str, script: str) -> str:
    """Make a file in the stack's backups/ from inside (it belongs to AIRFLOW_UID); its path for restore."""
    stack.exec("scheduler", "python", "-c", f"import os, tarfile; os.chdir('{BACKUPS}'); {script}")
    return f"backups/{name}"


def test_bad_files_and_a_stack_with_data_are_refused_and_nothing_changes(fault_stack, backup):
    stack = fault_stack
    stack.api.create_variable("added_later", "1")
    good = backup["in_container"]
    corrupt = write_in_backups(stack, "corrupt.tar", (
        f"data = bytearray(open('{backup['path'].name}', 'rb').read()); "
        f"m = tarfile.open('{backup['path'].name}').getmember('metadata.pgdump'); "
        "data[m.offset_data + 2000:m.offset_data + 2004] = b'XXXX'; open('corrupt.tar', 'wb').write(data)"))
    foreign = write_in_backups(stack, "foreign.tar", (
        "t = tarfile.open('foreign.tar', 'w'); t.add('/opt/airflow/dags', 'dags'); t.close()"))
    random = write_in_backups(stack, "random.tar", "open('random.tar', 'wb').write(os.urandom(20000))")
    expected = {
        good: "connections to the databases are open",  # the components are still running
        corrupt: "is corrupt (checksums do not match",
        foreign: "is not an airflow-lite backup (no",
        random: "is not an airflow-lite backup (not a readable tar",
        "backups/missing.tar": "no such file",
    }
    for path, message in expected.items():
        result = airflow_init(stack, "restore", path, check=False)
        assert result.returncode != 0 and message in result.stderr, (path, result.stderr)

    stack.compose("stop", "webserver", "scheduler", "triggerer")
    try:
        result = airflow_init(stack, "restore", good, check=False)
        assert result.returncode != 0, result.stderr
        assert "this stack already has data" in result.stderr and "--force" in result.stderr, result.stderr
        assert "nothing was changed" in result.stderr
        assert psql(stack, "SELECT count(*) FROM variable WHERE key = 'added_later'", db="airflow") == "1"
        # --force replaces it
        airflow_init(stack, "restore", good, "--force")
    finally:
        stack.up()
    # the variable made after the backup is gone, the rest is as backed up
    assert stack.api.get("/variables/added_later").status_code == 404
    assert snapshot(stack) == backup["state"]


# --- faults while a month loads (support.faults: the big yellow file, the wait for its COPY) --------------
def staging_tables(stack) -> str:
    return psql(stack, "SELECT string_agg(tablename, ',') FROM pg_tables WHERE tablename LIKE '%\\_loading'")


def assert_month_exact(stack, month: str, rows: dict[str, int]) -> None:
    assert {taxi: month_rows(stack, taxi, month) for taxi in rows} == rows
    assert staging_tables(stack) == ""


def test_postgres_restarted_mid_load(fault_stack, figures):
    stack, month = fault_stack, "2021-02"
    rows, tries, seconds = load_with_fault(stack, month, 2, lambda: restart_postgres(stack))
    figures.append(f"fault: postgres restarted mid-load, restart to run success {seconds:.0f} s "
                   f"(yellow load tries: {tries['yellow.load'][1]})")
    assert_month_exact(stack, month, rows)
    stack.wait_healthy(timeout=300)  # by itself
    assert seconds <= RECOVERY_BOUND, tries


SMALL = {"yellow": 300, "green": 300, "fhv": 300}


def rerun_month(stack, run_id: str) -> None:
    """Run an existing month again, as a user would (Clear in the UI), and unpause the DAG."""
    stack.api.clear_run(DAG, run_id)
    stack.api.set_paused(DAG, False)


def forget_downloads(stack, month: str, *taxis: str) -> None:
    """Delete the month's downloaded files in the scheduler, so a rerun fetches what taxi-files serves now."""
    stack.exec("scheduler", "bash", "-c", " ".join(
        f"rm -f /opt/airflow/data/{taxi}/{taxi}_tripdata_{month}.csv.gz;" for taxi in taxis))


def loaded_month(stack, month: str, seed: int) -> tuple[str, dict[str, int]]:
    """`month` loaded once with SMALL files (its run id, rows per taxi type), the files then forgotten."""
    rows = serve_month(stack, month, SMALL, seed=seed)
    run_id = run_month(stack, DAG, month)
    assert_month_exact(stack, month, rows)
    forget_downloads(stack, month, *rows)
    return run_id, rows


def test_scheduler_crash_mid_load_retries_the_load_and_the_month_ends_exact(fault_stack, figures):
    """Every process of the scheduler's container killed, as the kernel's OOM killer would: the container
    exits and its restart policy starts it again. (`docker kill` is a manual stop for Docker: no restart
    policy applies; `docker compose up -d` then brings it back and the same recovery follows.)"""
    stack, month = fault_stack, "2021-03"
    scheduler = container(stack, "scheduler")
    restarts = restart_count(stack, "scheduler")
    rows, tries, seconds = load_with_fault(stack, month, 3, lambda: kill_scheduler_container(stack))
    figures.append(f"fault: scheduler container killed mid-load, kill to run success {seconds:.0f} s "
                   f"(yellow load tries: {tries['yellow.load'][1]})")
    assert int(stack.inspect(scheduler, "{{.RestartCount}}")) > restarts
    assert tries["yellow.load"][1] >= 2  # the interrupted try did not count as a success
    assert_month_exact(stack, month, rows)  # exact: no duplicates from the killed try
    assert seconds <= RECOVERY_BOUND, tries


def test_compose_stop_mid_load_keeps_the_previous_rows_and_up_completes_the_run(fault_stack, figures):
    stack, month = fault_stack, "2021-04"
    run_id, before = loaded_month(stack, month, seed=4)
    rows = {**before, **serve_month(stack, month, {"yellow": BIG["yellow"]}, seed=5)}  # a new yellow file
    rerun_month(stack, run_id)
    wait_for_copy(stack)

    running = {cid: stack.inspect(cid, '{{index .Config.Labels "com.docker.compose.service"}}')
               for cid in stack.container_ids()}
    t0 = time.monotonic()
    stack.compose("stop")
    stop_seconds = time.monotonic() - t0
    codes = {service: stack.inspect(cid, "{{.State.ExitCode}}") for cid, service in running.items()}
    figures.append(f"fault: docker compose stop mid-load {stop_seconds:.1f} s; exit codes {codes}")
    assert stop_seconds < 30 and "137" not in codes.values(), codes  # nobody needed killing

    stack.compose("start", "postgres")
    stack.wait_healthy(120)
    # never half-loaded: the interrupted load left the month as it was, or (Airflow 3 lets a task
    # that is committing finish within the stop) the new file is there whole
    now = {taxi: month_rows(stack, taxi, month) for taxi in before}
    assert now == before or now == rows, now

    t0 = time.monotonic()
    stack.up()
    tries = finish(stack, run_id)
    figures.append(f"fault: after the stop, up -d to run success {time.monotonic() - t0:.0f} s "
                   f"(yellow load tries: {tries['yellow.load'][1]})")
    assert_month_exact(stack, month, rows)


def test_a_full_data_folder_fails_the_download_by_name_and_keeps_the_loaded_month(fault_stack):
    """data/fhv points at a 1 MiB tmpfs (docker-compose.faults.yaml) while a larger file downloads."""
    stack, month = fault_stack, "2021-05"
    run_id, before = loaded_month(stack, month, seed=6)
    serve_month(stack, month, {"fhv": 150_000}, seed=7)
    stack.exec("scheduler", "bash", "-c",
               "cd /opt/airflow/data && mv fhv fhv.away && ln -s ../small-disk fhv")
    rerun_month(stack, run_id)
    try:
        deadline = time.monotonic() + 300
        while (ti := {ti["task_id"]: ti for ti in stack.task_instances(DAG, run_id)}["fhv.download"]
               )["state"] not in {"up_for_retry", "failed"}:
            assert time.monotonic() < deadline, ti
            time.sleep(1)
        log = stack.task_log(DAG, run_id, "fhv.download", ti["try_number"])
        # (Airflow masks the test stack's password, "airflow", in task logs: /opt/***/data)
        assert re.search(r"DiskFullError: no space left on device in /opt/\S+/data/fhv after writing "
                         r"[\d.]+ MB of [\d.]+ MB of fhv_tripdata_2021-05.csv.gz", log), log[-3000:]
        partial = stack.exec("scheduler", "ls", "-A", "/opt/airflow/small-disk").stdout.split()
        assert partial == []
        assert_month_exact(stack, month, before)
    finally:
        stack.api.set_run_state(DAG, run_id, "failed")
        pause(stack, DAG)
        stack.exec("scheduler", "bash", "-c", "cd /opt/airflow/data && rm fhv && mv fhv.away fhv")
