"""Which month does LocalIngestionDag's run of 2021-04-02 06:00 process? Prints `RESULT {json}`.

    python months_probe.py DAGS_FOLDER

Runs inside an Airflow image (2.11.2 or 3.3.2): the scheduler's own timetable code decides the run's
logical date, and the DAG's MONTH template is rendered from it.
"""

import inspect
import json
import sys
import warnings

import pendulum


def main() -> None:
    warnings.simplefilter("ignore")
    try:  # Airflow 3.1+
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:
        from airflow.models.dagbag import DagBag
    from airflow.timetables.base import DataInterval, TimeRestriction

    extra = {"include_examples": False} if "include_examples" in inspect.signature(DagBag).parameters else {}
    bag = DagBag(dag_folder=sys.argv[1], **extra)
    dag = bag.dags["LocalIngestionDag"]
    # the run after February's: the one the scheduler starts once March is over
    february = DataInterval(pendulum.datetime(2021, 2, 2, 6, tz="UTC"),
                            pendulum.datetime(2021, 3, 2, 6, tz="UTC"))
    info = dag.timetable.next_dagrun_info(
        last_automated_data_interval=february,
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )
    logical_date = getattr(info, "logical_date", None) or info.data_interval.start
    download = dag.get_task("yellow.download")  # download(taxi, MONTH, URL_TEMPLATE): the MONTH template
    month = download.op_kwargs.get("month") or download.op_args[1]
    import jinja2

    print("RESULT " + json.dumps({
        "run_after": info.run_after.isoformat(),
        "logical_date": logical_date.isoformat(),
        "month": jinja2.Template(month).render(logical_date=logical_date),
    }))


if __name__ == "__main__":
    main()
