"""Run one DagRun of LocalIngestionDag with `dag.test()` (child process of test_dag.py).

Usage: python run_local_dag.py <dags folder> <logical date>. Prints one line `RESULT {json}` at the end.
"""

from __future__ import annotations

import json
import sys

import pendulum
from airflow.models import DagBag

# dag.test() needs every table a foreign key points at mapped, among them FAB's user table.
from airflow.providers.fab.auth_manager.models import User  # noqa: F401


def main(dags_folder: str, logical_date: str) -> None:
    bag = DagBag(dag_folder=dags_folder, include_examples=False)
    errors = {k: v for k, v in bag.import_errors.items() if k.endswith("data_ingestion_local.py")}
    if errors:
        print("RESULT " + json.dumps({"import_errors": errors}))
        return
    run = bag.dags["LocalIngestionDag"].test(execution_date=pendulum.parse(logical_date))
    tasks = {ti.task_id: ti.state for ti in run.get_task_instances()}
    print("RESULT " + json.dumps({"state": run.state, "tasks": tasks}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
