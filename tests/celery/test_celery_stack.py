"""The Celery override end to end: 2 workers share the work, survive losing one, and the lite stack
takes over the same database afterwards. Tests run in file order on one stack (see conftest.py)."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests
from support.stack import PROJECT_SERVICES

pytestmark = pytest.mark.stack

FANOUT, KILL = "celery_fanout", "celery_kill"
_runs: dict[str, str] = {}  # dag id -> run id, for the switch-back test


def sleeps(tis: list[dict]) -> list[dict]:
    return [ti for ti in tis if ti["task_id"].startswith("sleep_")]


def test_stack_with_two_workers_becomes_healthy(celery_stack):
    states = celery_stack.health()
    assert set(states.values()) == {"healthy"}, states
    services = {"postgres", "redis", "webserver", "scheduler", "triggerer", "flower"}
    for service in services:
        assert len(celery_stack.container_ids(service)) == 1, service
    workers = celery_stack.container_ids("airflow-worker")
    assert len(workers) == 2
    for cid in [*workers, *celery_stack.container_ids("scheduler"), *celery_stack.container_ids("webserver")]:
        env = celery_stack.env_of(cid)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    (init,) = celery_stack.container_ids("airflow-init", all_states=True)
    assert celery_stack.env_of(init)["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert celery_stack.inspect(init, "{{.State.Status}} {{.State.ExitCode}}") == "exited 0"


def test_workers_run_as_airflow_uid_group_0(celery_stack):
    for cid in celery_stack.container_ids("airflow-worker"):
        ids = [subprocess.run(["docker", "exec", cid, "id", flag], capture_output=True, text=True,
                              check=True).stdout.strip() for flag in ("-u", "-g")]
        assert ids == ["50000", "0"]


def test_flower_needs_the_admin_login_and_sees_both_workers(celery_stack):
    url = f"http://127.0.0.1:{celery_stack.env['FLOWER_PORT']}"
    assert requests.get(f"{url}/healthcheck", timeout=30).text == "OK"
    assert requests.get(f"{url}/api/workers", timeout=30).status_code == 401
    expected = {f"celery@{h}" for h in celery_stack.worker_hostnames().values()}
    deadline = time.monotonic() + 60
    while True:
        r = requests.get(f"{url}/api/workers", params={"refresh": "true"}, auth=("airflow", "airflow"),
                         timeout=30)
        assert r.status_code == 200, r.text[:500]
        if set(r.json()) == expected or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert set(r.json()) == expected
    (flower,) = celery_stack.container_ids("flower")
    assert celery_stack.inspect(flower, '{{(index (index .NetworkSettings.Ports "5555/tcp") 0).HostIp}}') \
        == "127.0.0.1"


def test_twenty_parallel_tasks_run_on_both_workers_and_succeed(celery_stack, figures):
    celery_stack.wait_for_dag(FANOUT, timeout=60)
    t0 = time.monotonic()
    run_id = celery_stack.trigger(FANOUT, conf={"seconds": 3})
    state = celery_stack.wait_for_run(FANOUT, run_id, timeout=240)
    seconds = time.monotonic() - t0
    tis = celery_stack.task_instances(FANOUT, run_id)
    assert state == "success", [(ti["task_id"], ti["state"]) for ti in tis]
    _runs[FANOUT] = run_id
    figures.append(f"celery: {FANOUT} (20 x 3 s on 2 workers x 4 slots) trigger to success {seconds:.1f} s")

    assert len(sleeps(tis)) == 20
    assert {ti["state"] for ti in tis} == {"success"}
    hosts = set(celery_stack.worker_hostnames().values())
    used = {ti["hostname"] for ti in sleeps(tis)}
    assert used == hosts, f"tasks ran on {used}, workers are {hosts}"

    # the task log is readable through the webserver (on 2.x it also names the host; 3.x logs do not)
    ti = sleeps(tis)[0]
    log = celery_stack.task_log(FANOUT, run_id, ti["task_id"])
    assert "Returned value was" in log, log[-2000:]
    if celery_stack.major < 3:
        assert f"on host {ti['hostname']}" in log, log[-2000:]


def test_tasks_of_a_killed_worker_are_retried_on_the_other_and_the_run_succeeds(celery_stack, figures):
    workers = celery_stack.worker_hostnames()
    celery_stack.wait_for_dag(KILL, timeout=60)
    run_id = celery_stack.trigger(KILL, conf={"seconds": 20})
    t0 = time.monotonic()
    # wait until all 8 sleeps run, spread over both workers (4 slots each)
    deadline = time.monotonic() + 90
    while True:
        running = [ti for ti in sleeps(celery_stack.task_instances(KILL, run_id)) if ti["state"] == "running"]
        if len(running) == 8 and {ti["hostname"] for ti in running} == set(workers.values()):
            break
        assert time.monotonic() < deadline, [(ti["task_id"], ti["state"], ti["hostname"]) for ti in running]
        time.sleep(0.5)

    victim, victim_host = next(iter(workers.items()))
    lost = {ti["task_id"] for ti in running if ti["hostname"] == victim_host}
    subprocess.run(["docker", "kill", victim], check=True, capture_output=True)
    killed_after = time.monotonic() - t0

    state = celery_stack.wait_for_run(KILL, run_id, timeout=300)
    seconds = time.monotonic() - t0
    tis = {ti["task_id"]: ti for ti in celery_stack.task_instances(KILL, run_id)}
    assert state == "success", {k: (ti["state"], ti["try_number"]) for k, ti in tis.items()}
    _runs[KILL] = run_id
    figures.append(f"celery: worker killed {killed_after:.1f} s after trigger ({len(lost)} tasks lost), "
                   f"run succeeded after {seconds:.1f} s")

    assert lost
    survivor = {h for cid, h in workers.items() if cid != victim}
    for task_id, ti in tis.items():
        assert ti["state"] == "success", task_id
        if task_id in lost:
            assert ti["try_number"] == 2, (task_id, ti["try_number"])
            assert {ti["hostname"]} == survivor, task_id
        else:
            assert ti["try_number"] == 1, (task_id, ti["try_number"])
    # docker kill does not bring the worker back (restart: unless-stopped); the other stays healthy
    assert celery_stack.inspect(victim, "{{.State.Status}}") == "exited"
    assert set(celery_stack.health().values()) == {"healthy"}


def test_stop_then_the_plain_stack_keeps_history_and_users(celery_stack, figures):
    running = {cid: celery_stack.inspect(cid, '{{index .Config.Labels "com.docker.compose.service"}}')
               for cid in celery_stack.container_ids()}
    t0 = time.monotonic()
    celery_stack.compose("stop")
    stop_seconds = time.monotonic() - t0
    ends = {cid: celery_stack.inspect(cid, "{{.State.Status}} {{.State.ExitCode}}") for cid in running}
    codes = sorted(f"{running[cid]} {end.split()[1]}" for cid, end in ends.items())
    figures.append(f"celery stack: compose stop {stop_seconds:.1f} s; exit codes: {', '.join(codes)}")
    assert stop_seconds < 30
    assert set(ends.values()) <= {"exited 0", "exited 137"}, ends
    # what this override adds ends by itself, exit code 0: idle workers shut down warm
    for cid, service in running.items():
        if service in {"airflow-worker", "redis", "flower"}:
            assert ends[cid] == "exited 0", service

    # back to the lite stack: same project, volumes kept
    celery_stack.files = ["docker-compose.yaml"]
    t0 = time.monotonic()
    celery_stack.compose("up", "-d")
    celery_stack.wait_healthy(240)
    figures.append(f"switch back to docker-compose.yaml: up -d to all healthy {time.monotonic() - t0:.1f} s")
    assert not celery_stack.container_ids("airflow-worker")
    assert not celery_stack.container_ids("redis")
    (scheduler,) = celery_stack.container_ids("scheduler")
    assert celery_stack.env_of(scheduler)["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert set(PROJECT_SERVICES) - {"airflow-init"} <= {
        celery_stack.inspect(c, '{{index .Config.Labels "com.docker.compose.service"}}')
        for c in celery_stack.container_ids()}

    # the admin user and the Celery runs, with the workers' hostnames, are still there
    user = celery_stack.api.user("airflow")
    assert user.status_code == 200, user.text[:300]
    assert [r["name"] for r in user.json()["roles"]] == ["Admin"]
    for dag_id, run_id in _runs.items():
        run = celery_stack.api.run(dag_id, run_id)
        assert run["state"] == "success", dag_id
        hosts = {ti["hostname"] for ti in sleeps(celery_stack.task_instances(dag_id, run_id))}
        assert hosts and hosts.isdisjoint({celery_stack.inspect(scheduler, "{{.Config.Hostname}}")})
    assert set(_runs) == {FANOUT, KILL}, "the earlier tests did not leave their runs"

    # the same DAG runs unchanged on the LocalExecutor: inside the scheduler container
    run_id = celery_stack.trigger(FANOUT, conf={"seconds": 1})
    assert celery_stack.wait_for_run(FANOUT, run_id, timeout=240) == "success"
    hosts = {ti["hostname"] for ti in sleeps(celery_stack.task_instances(FANOUT, run_id))}
    assert hosts == {celery_stack.inspect(scheduler, "{{.Config.Hostname}}")}
