"""DAG integrity: every file in dags/ imports cleanly with the Airflow version of the image."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.models import DagBag

    return DagBag(dag_folder=str(DAGS), include_examples=False)


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    files_with_dags = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert files_with_dags == {p.name for p in DAGS.glob("*.py")}


def test_the_course_example_dag_has_its_two_tasks_in_order(dagbag):
    dag = dagbag.dags.get("LocalIngestionDagv2")
    assert dag is not None
    assert [t.task_id for t in dag.topological_sort()] == ["wget", "ingest"]
    assert dag.get_task("wget").downstream_task_ids == {"ingest"}
    assert dag.get_task("ingest").downstream_task_ids == set()


@pytest.mark.parametrize("dag_id", ["LocalIngestionDag", "data_ingestion_gcs"])
def test_our_pipelines_do_not_catch_up_without_bound(dagbag, dag_id):
    dag = dagbag.dags.get(dag_id)
    assert dag is not None
    assert dag.max_active_runs == 1
    assert dag.catchup is False or dag.end_date is not None
