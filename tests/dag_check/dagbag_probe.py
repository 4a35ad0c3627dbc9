"""Load a DAG folder in a DagBag and print one line `RESULT {json}`: import errors per file name, and
per DAG its file, task ids with their downstream ids, and the earliest task start date.

    python dagbag_probe.py FOLDER [--stub-removed]

Runs in a child process (on the host's Airflow 2.11.2, or inside the Airflow 3.3.2 image), so every
load starts from a clean interpreter. --stub-removed puts plain BaseOperators in place of the operators
the shipped providers removed, so a course DAG can be loaded as it was written: the baseline of task
ids and wiring that dag_check --fix must keep.
"""

import inspect
import json
import sys
import types
import warnings
from pathlib import Path


def stub_removed_operators() -> None:
    from airflow.models.baseoperator import BaseOperator

    base_params = set(inspect.signature(BaseOperator.__init__).parameters)

    def stub(name):
        def __init__(self, **kwargs):
            BaseOperator.__init__(self, **{k: v for k, v in kwargs.items() if k in base_params})

        return type(name, (BaseOperator,), {"__init__": __init__})

    import airflow.providers.google.cloud.operators.bigquery as bigquery

    bigquery.BigQueryCreateExternalTableOperator = stub("BigQueryCreateExternalTableOperator")
    package = types.ModuleType("airflow.providers.postgres.operators")
    module = types.ModuleType("airflow.providers.postgres.operators.postgres")
    module.PostgresOperator = stub("PostgresOperator")
    sys.modules[package.__name__], sys.modules[module.__name__] = package, module


def main() -> None:
    folder = Path(sys.argv[1]).resolve()
    sys.path.insert(0, str(folder))  # as Airflow puts its dags folder on sys.path
    warnings.simplefilter("ignore")
    if "--stub-removed" in sys.argv:
        stub_removed_operators()
    try:  # Airflow 3.1+
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag
    # Airflow 3.3 dropped include_examples (AIRFLOW__CORE__LOAD_EXAMPLES=False does the same)
    extra = {"include_examples": False} if "include_examples" in inspect.signature(DagBag).parameters else {}
    bag = DagBag(dag_folder=str(folder), **extra)
    dags = {}
    for dag_id, dag in bag.dags.items():
        starts = [t.start_date for t in dag.tasks if t.start_date]
        dags[dag_id] = {
            "file": Path(dag.fileloc).name,
            "tasks": {t.task_id: sorted(t.downstream_task_ids) for t in dag.tasks},
            "start": min(starts).isoformat() if starts else None,
        }
    errors = {Path(f).name: str(e) for f, e in bag.import_errors.items()}
    print("RESULT " + json.dumps({"import_errors": errors, "dags": dags}))


if __name__ == "__main__":
    main()
