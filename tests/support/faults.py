"""Faults struck on a running Stack (with the test services and tests/stack/docker-compose.faults.yaml), and
the waits that time the recovery: shared by tests/stack/test_faults.py and benchmarks/recovery_benchmark.py.

- a frozen component (its processes stopped with SIGSTOP): `freeze`, then `wait_restarted_and_healthy`;
- a fault while a month loads (Postgres restarted, the scheduler's container killed): `load_with_fault`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from support.stack import Stack
from support.stack_taxi import create_month_run, pause, psql, serve_month

DAG = "LocalIngestionDag"
# yellow big enough that its COPY runs for seconds (the moment each fault strikes); the others small.
BIG = {"yellow": 400_000, "green": 500, "fhv": 500}
# The components that heal themselves (scripts/healthcheck.sh).
SELF_HEALING = ("scheduler", "webserver", "triggerer")

# The scheduler's main process: the topmost `airflow scheduler` (dumb-init's child on 2.x; on 3.x the
# child of entrypoint.sh, which runs it beside the DAG processor), not the processes it forks.
FREEZE_SCHEDULER = """
import os, signal
def cmd(pid):
    return open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\\0', b' ').decode()
def ppid(pid):
    return int(open(f'/proc/{pid}/status').read().split('PPid:')[1].split()[0])
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        main = 'airflow scheduler' in cmd(pid) and 'airflow scheduler' not in cmd(ppid(pid))
    except (OSError, ValueError, IndexError):
        continue
    if main:
        os.kill(int(pid), signal.SIGSTOP)
        print(pid, cmd(pid))
"""


# --- containers -------------------------------------------------------------------------------------
def container(stack: Stack, service: str) -> str:
    (cid,) = stack.container_ids(service)
    return cid


def restart_count(stack: Stack, service: str) -> int:
    return int(stack.inspect(container(stack, service), "{{.RestartCount}}"))


def restarted_and_healthy(stack: Stack, service: str, restarts_before: int) -> bool:
    ids = stack.container_ids(service)
    if not ids:
        return False
    state = stack.inspect(ids[0], "{{.RestartCount}} {{if .State.Health}}{{.State.Health.Status}}{{end}}")
    count, _, health = state.partition(" ")
    return int(count) > restarts_before and health == "healthy"


# --- frozen components --------------------------------------------------------------------------------
def freeze(stack: Stack, service: str) -> str:
    """Hang `service`: the scheduler's main loop (FREEZE_SCHEDULER; its DAG processor and tasks keep
    running), or every process of the webserver's or triggerer's container but dumb-init. What was frozen."""
    if service == "scheduler":
        frozen = stack.exec("scheduler", "python", "-c", FREEZE_SCHEDULER).stdout
        assert len(frozen.splitlines()) == 1 and "airflow scheduler" in frozen, frozen
        return frozen
    stack.exec(service, "bash", "-c", "kill -STOP -1")
    return f"every process of {service}"


def freeze_and_time_healing(stack: Stack, services: tuple[str, ...] = SELF_HEALING,
                            timeout: float = 300) -> dict[str, float]:
    """Freeze `services` at once (they heal independently: one wait instead of several); service ->
    seconds from its freeze until its container restarted and is healthy again."""
    before = {service: restart_count(stack, service) for service in services}
    frozen_at = {}
    for service in services:
        freeze(stack, service)
        frozen_at[service] = time.monotonic()
    healed: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(healed) < len(services):
        for service in services:
            if service not in healed and restarted_and_healthy(stack, service, before[service]):
                healed[service] = time.monotonic() - frozen_at[service]
        assert time.monotonic() < deadline, f"not restarted and healthy within {timeout} s: " \
            f"{set(services) - set(healed)}\n{stack.logs()[-4000:]}"
        time.sleep(0.5)
    return healed


# --- faults while a month loads -------------------------------------------------------------------------
def restart_postgres(stack: Stack) -> None:
    stack.compose("restart", "postgres")


def kill_scheduler_container(stack: Stack) -> None:
    """Every process of the scheduler's container killed, as the kernel's OOM killer would: the container
    exits and its restart policy starts it again. (`docker kill` is a manual stop for Docker: no restart
    policy applies.)"""
    stack.exec("scheduler", "bash", "-c", "kill -KILL -1", check=False)  # bash's kill: no procps


def wait_for_copy(stack: Stack, timeout: float = 300) -> None:
    """Until a load is streaming rows into ny_taxi: the fault strikes mid-load."""
    deadline = time.monotonic() + timeout
    query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = 'ny_taxi' "
             "AND query ILIKE 'COPY %' AND state = 'active'")
    while psql(stack, query, db="airflow") == "0":
        assert time.monotonic() < deadline, f"no COPY into ny_taxi within {timeout} s"
        time.sleep(0.2)


def patient(call: Callable, timeout: float = 180):
    """call() until it raises no HTTP error: during and just after a fault the API may answer 500
    (database gone) or not at all (webserver restarting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def run_state(stack: Stack, run_id: str) -> str:
    r = stack.get(f"/dags/{DAG}/dagRuns/{run_id}")
    r.raise_for_status()
    return r.json()["state"]


def finish(stack: Stack, run_id: str, timeout: float = 600) -> dict[str, tuple[str, int]]:
    """Wait for the run (the DAG paused again afterwards); task id -> (state, try number)."""
    deadline = time.monotonic() + timeout
    try:
        while (state := patient(lambda: run_state(stack, run_id))) not in {"success", "failed"}:
            assert time.monotonic() < deadline, f"run still {state} after {timeout} s"
            time.sleep(1)
    finally:
        patient(lambda: pause(stack, DAG))
    tries = {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in stack.task_instances(DAG, run_id)}
    assert state == "success", (tries, stack.logs("scheduler")[-3000:])
    return tries


def load_with_fault(stack: Stack, month: str, seed: int, fault: Callable[[], object],
                    timeout: float = 600, rerun: str | None = None) -> tuple[dict, dict, float]:
    """Load `month` (BIG), call fault() once its yellow COPY runs, wait for the run to succeed.
    `rerun`: the month's existing run, run again (cleared, as in the UI) instead of a new run.
    Returns (rows served, task id -> (state, try number), seconds from the fault to success)."""
    rows = serve_month(stack, month, BIG, seed=seed)
    if rerun:
        run_id = rerun
        stack.api.clear_run(DAG, run_id)
        stack.api.set_paused(DAG, False)
    else:
        run_id = create_month_run(stack, DAG, month)
    wait_for_copy(stack)
    t0 = time.monotonic()
    fault()
    tries = finish(stack, run_id, timeout=timeout)
    return rows, tries, time.monotonic() - t0
