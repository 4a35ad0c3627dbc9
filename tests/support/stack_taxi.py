"""Taxi months inside a running Stack with the test services: serve generated files through taxi-files,
run a DAG for one month, read the stack's Postgres."""

from __future__ import annotations

from support.stack import Stack
from support.taxidata import make_trips, write_csv


def serve_month(stack: Stack, month: str, rows: dict[str, int], seed: int = 7) -> dict[str, int]:
    """Generated csv.gz files of `month` (taxi type -> rows), served by taxi-files; returns `rows`."""
    for taxi, n in rows.items():
        folder = stack.dir / "test-files" / taxi
        folder.mkdir(parents=True, exist_ok=True)
        path = write_csv(make_trips(taxi, month, n, seed=seed), folder / f"{taxi}_tripdata_{month}.csv.gz",
                         float_ints=taxi == "green")
        path.chmod(0o644)
    return rows


def logical_date(month: str) -> str:
    """The "0 6 2 * *" run whose month is `month` (YYYY-MM)."""
    return f"{month}-02T06:00:00+00:00"


def create_month_run(stack: Stack, dag_id: str, month: str) -> str:
    """Create the run of `month` while the DAG is paused, so the DAG's own catch-up (one active run at a
    time) cannot get ahead of it, then unpause; returns the run id."""
    stack.wait_for_dag(dag_id)
    run_id = stack.api.create_run(dag_id, logical_date(month))
    stack.api.set_paused(dag_id, False)
    return run_id


def pause(stack: Stack, dag_id: str) -> None:
    stack.api.set_paused(dag_id, True)


def run_month(stack: Stack, dag_id: str, month: str, timeout: float = 300) -> str:
    """Run `dag_id` for `month` only and assert it succeeds; paused again afterwards. Returns the run id."""
    run_id = create_month_run(stack, dag_id, month)
    try:
        state = stack.wait_for_run(dag_id, run_id, timeout=timeout)
    finally:
        pause(stack, dag_id)
    states = {ti["task_id"]: ti["state"] for ti in stack.task_instances(dag_id, run_id)}
    assert state == "success", states
    return run_id


def psql(stack: Stack, query: str, db: str = "ny_taxi") -> str:
    return stack.exec("postgres", "psql", "-U", "airflow", "-d", db, "-tAc", query).stdout.strip()


def month_rows(stack: Stack, taxi: str, month: str) -> int:
    return int(psql(stack, f"SELECT count(*) FROM {taxi}_tripdata WHERE month = '{month}-01'"))
