"""Monthly NYC taxi trips (yellow, green, fhv) into the local Postgres database `ny_taxi`.

Per taxi type: download >> load >> check, for the run's month. The pipeline's logic lives in the
taxi_ingest package (plugins/); this file says when, what and with which settings, and holds the
Airflow glue: the connection's URL.

Config:
- Airflow Variable TAXI_URL_TEMPLATE (env AIRFLOW_VAR_TAXI_URL_TEMPLATE), read at run time, with
  {taxi}, {year}, {month} placeholders; default: the course's csv.gz mirror.
- Connection `ny_taxi_postgres` (env AIRFLOW_CONN_NY_TAXI_POSTGRES); the database is created if missing.
- Files are kept in $TAXI_DATA_DIR/<taxi>/, default /opt/airflow/data (a complete earlier download
  is reused).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.timetables.interval import CronDataIntervalTimetable

try:  # Airflow 3
    from airflow.sdk import dag, task, task_group
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task, task_group

from taxi_ingest.sources import DEFAULT_URL_TEMPLATE, DOWNLOAD_RETRIES, TAXI_TYPES

CONN_ID = "ny_taxi_postgres"
# Rendered when the task runs, so the Variable is not read while the scheduler parses this file.
MONTH = "{{ logical_date.strftime('%Y-%m') }}"
URL_TEMPLATE = "{{ var.value.get('TAXI_URL_TEMPLATE', '" + DEFAULT_URL_TEMPLATE + "') }}"


def _database_url() -> str:
    """The connection's URL (the library opens its own psycopg2 connections: the Postgres provider of
    Airflow 3 hands out psycopg 3 ones)."""
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=CONN_ID).get_uri()


@task(**DOWNLOAD_RETRIES)
def download(taxi: str, month: str, url_template: str) -> str:
    from taxi_ingest.download import download_month

    return str(download_month(taxi, month, url_template))


# A load fails on a lost database connection (Postgres restarting, the task's container killed); it
# replaces the month in one transaction, so retrying soon is safe.
@task(retries=1, retry_delay=timedelta(seconds=30))
def load(taxi: str, month: str, path: str) -> int:
    from taxi_ingest.postgres import ensure_database, load_month, lost_server_reported_when_back

    url = _database_url()
    with lost_server_reported_when_back(url):
        ensure_database(url)
        return load_month(url, path, taxi, month)


@task(retries=1, retry_delay=timedelta(seconds=30))  # read-only: as safe to retry as load
def check(taxi: str, month: str, path: str) -> int:
    from taxi_ingest.postgres import check_month, lost_server_reported_when_back

    url = _database_url()
    with lost_server_reported_when_back(url):
        return check_month(url, path, taxi, month)


@dag(
    dag_id="LocalIngestionDag",
    # The 2nd of each month (the previous month's file is out by then), with Airflow 2's meaning on
    # both majors: the run of 2021-03-02 processes 2021-03, its data interval. (Airflow 3 reads a
    # plain cron string as CronTriggerTimetable, whose logical date is the run time: another month.)
    schedule=CronDataIntervalTimetable("0 6 2 * *", timezone="UTC"),
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    end_date=pendulum.datetime(2021, 12, 31, tz="UTC"),
    catchup=True,
    max_active_runs=1,  # unpausing walks 2021 one month at a time
    default_args={"owner": "airflow"},
    tags=["nyc-taxi", "postgres"],
    doc_md=__doc__,
)
def local_ingestion():
    for taxi in TAXI_TYPES:

        @task_group(group_id=taxi)
        def ingest(taxi: str = taxi):
            path = download(taxi, MONTH, URL_TEMPLATE)
            load(taxi, MONTH, path) >> check(taxi, MONTH, path)

        ingest()


local_ingestion()
