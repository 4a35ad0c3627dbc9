"""The DAGs as the scheduler sees them: every file in dags/ parses, and each DAG has the shape we document.

One test per property, parametrized over the three DAGs (the course's example and both pipelines),
on the in-process DagBag of tests/conftest.py (parsed without any Google key or setting). Real runs:
tests/ingest/test_local_dag_run.py and tests/gcp/test_dag_run.py.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
TAXIS = ("yellow", "green", "fhv")
EXAMPLE, LOCAL, GCS = "LocalIngestionDagv2", "LocalIngestionDag", "data_ingestion_gcs"
MONTH = "{{ logical_date.strftime('%Y-%m') }}"


def _chain(*task_ids: str) -> dict[str, set[str]]:
    return {up: {down} for up, down in zip(task_ids, task_ids[1:], strict=False)} | {task_ids[-1]: set()}


GCS_STEPS = ("download", "convert_to_parquet", "upload_to_gcs", "external_table", "partitioned_table")
# task id -> ids of its direct downstream tasks: the whole graph of each DAG.
WIRING = {
    EXAMPLE: _chain("wget", "ingest"),
    LOCAL: {
        task: downstream
        for taxi in TAXIS
        for task, downstream in {
            f"{taxi}.download": {f"{taxi}.load", f"{taxi}.check"},
            f"{taxi}.load": {f"{taxi}.check"},
            f"{taxi}.check": set(),
        }.items()
    },
    GCS: {
        "check_gcp_setup": {f"{taxi}.download" for taxi in TAXIS},
        **{task: down for taxi in TAXIS for task, down in _chain(*(f"{taxi}.{step}" for step in GCS_STEPS))
           .items()},
    },
}
SCHEDULE = {EXAMPLE: "0 6 2 * *", LOCAL: "0 6 2 * *", GCS: "0 6 2 * *"}
TAGS = {EXAMPLE: [], LOCAL: ["nyc-taxi", "postgres"], GCS: ["gcp", "nyc-taxi"]}
START = pendulum.datetime(2021, 1, 1, tz="UTC")
# (catchup, end_date, max_active_runs); None: the example leaves catch-up to the installation
# (docker-compose.yaml sets AIRFLOW__SCHEDULER__CATCHUP_BY_DEFAULT=false).
CATCH_UP = {
    EXAMPLE: None,
    LOCAL: (True, pendulum.datetime(2021, 12, 31, tz="UTC"), 1),
    GCS: (True, pendulum.datetime(2021, 7, 31, tz="UTC"), 1),
}
# (retries, retry_delay, exponential backoff) per task (without the taxi prefix). Downloads share one
# policy (taxi_ingest.sources.DOWNLOAD_RETRIES); a missing key or setting never heals by retrying.
DOWNLOAD = (5, timedelta(minutes=1), True)
RETRIES = {
    EXAMPLE: {"wget": (0, timedelta(minutes=5), False), "ingest": (0, timedelta(minutes=5), False)},
    LOCAL: {"download": DOWNLOAD, "load": (1, timedelta(seconds=30), False),
            "check": (1, timedelta(seconds=30), False)},
    GCS: {"check_gcp_setup": (0, timedelta(minutes=2), False), "download": DOWNLOAD,
          **{step: (2, timedelta(minutes=2), False) for step in GCS_STEPS[1:]}},
}


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    files_with_dags = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert files_with_dags == {p.name for p in DAGS.glob("*.py")}
    assert set(dagbag.dags) == {EXAMPLE, LOCAL, GCS}


@pytest.mark.parametrize("dag_id", WIRING)
def test_wiring(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert {t.task_id: t.downstream_task_ids for t in dag.tasks} == WIRING[dag_id]
    if dag_id == EXAMPLE:
        assert [t.task_id for t in dag.topological_sort()] == ["wget", "ingest"]
    if dag_id == GCS:  # the setup check runs before anything else
        assert [t.task_id for t in dag.roots] == ["check_gcp_setup"]


@pytest.mark.parametrize("dag_id", SCHEDULE)
def test_schedule(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert dag.timetable.summary == SCHEDULE[dag_id]
    assert dag.start_date == START
    if dag_id != EXAMPLE:
        # The run made on 2021-04-02 processes 2021-03 (its data interval), on Airflow 2 and 3 alike:
        # a pinned CronDataIntervalTimetable, not a cron string (CronTriggerTimetable on Airflow 3).
        april_2 = pendulum.datetime(2021, 4, 2, 6, tz="UTC")
        interval = dag.timetable.infer_manual_data_interval(run_after=april_2)
        assert (interval.start, interval.end) == (pendulum.datetime(2021, 3, 2, 6, tz="UTC"), april_2)


@pytest.mark.parametrize("dag_id", CATCH_UP)
def test_catch_up_bounds(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    if CATCH_UP[dag_id] is None:
        from airflow.configuration import conf

        assert dag.catchup is conf.getboolean("scheduler", "catchup_by_default")
        assert dag.end_date is None
        return
    catchup, end, max_active_runs = CATCH_UP[dag_id]
    assert (dag.catchup, dag.end_date, dag.max_active_runs) == (catchup, end, max_active_runs)
    # a pipeline that catches up does so over a bounded range, one month at a time
    assert dag.catchup is False or (dag.end_date is not None and dag.end_date > dag.start_date)


@pytest.mark.parametrize("dag_id", TAGS)
def test_tags(dagbag, dag_id):
    assert sorted(dagbag.dags[dag_id].tags) == TAGS[dag_id]


@pytest.mark.parametrize("dag_id", RETRIES)
def test_retries(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    got = {
        task.task_id.rsplit(".", 1)[-1]: (task.retries, task.retry_delay, task.retry_exponential_backoff)
        for task in dag.tasks
    }
    assert got == RETRIES[dag_id]
    for task in dag.tasks:
        if task.task_id.endswith(".download"):
            assert task.max_retry_delay == timedelta(hours=1)


@pytest.mark.parametrize(("dag_id", "task_id"), [(LOCAL, "green.download"), (GCS, "yellow.download")])
def test_month_and_url_are_rendered_at_run_time(dagbag, dag_id, task_id):
    """Templates, so parsing reads no Variable and each run gets its own month."""
    dag = dagbag.dags[dag_id]
    taxi, month, url = dag.get_task(task_id).op_args
    assert taxi == task_id.split(".")[0]
    assert month == MONTH
    assert url.startswith("{{ var.value.get('TAXI_URL_TEMPLATE', '") and "{taxi}" in url
    downstream_month = {LOCAL: ("green.load", 1), GCS: ("yellow.upload_to_gcs", 2)}[dag_id]
    assert dag.get_task(downstream_month[0]).op_args[downstream_month[1]] == MONTH
