"""Run one DagRun with `dag.test()` (child process of support.airflow_run.run_dag).

Usage: python run_dag.py <dags folder> <dag id> <logical date>. Prints one line `RESULT {json}` at the end.
"""

from __future__ import annotations

import json
import sys

import pendulum
from airflow.models import DagBag

# dag.test() deletes an earlier run of the same date through the ORM, whose mapper needs every table a
# foreign key points at, among them the FAB user table (dag_run_note.user_id -> ab_user.id).
from airflow.providers.fab.auth_manager.models import User  # noqa: F401


def main(dags_folder: str, dag_id: str, logical_date: str) -> None:
    bag = DagBag(dag_folder=dags_folder, include_examples=False)
    if dag_id not in bag.dags:
        print("RESULT " + json.dumps({"import_errors": bag.import_errors}))
        return
    run = bag.dags[dag_id].test(execution_date=pendulum.parse(logical_date))
    tasks = {ti.task_id: ti.state for ti in run.get_task_instances()}
    print("RESULT " + json.dumps({"state": run.state, "tasks": tasks}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
