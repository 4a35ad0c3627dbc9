"""NYC taxi trips -> GCS (parquet) -> BigQuery external table, one run per month.

Per taxi type: download -> normalized parquet -> gs://$GCP_GCS_BUCKET/raw/<taxi>/<year>/<file>.parquet
-> external table <dataset>.external_<taxi>_tripdata over gs://$GCP_GCS_BUCKET/raw/<taxi>/*
(-> optional table partitioned by pickup date, BIGQUERY_PARTITIONED_TABLE=true).

Settings come from the environment at run time (GCP_PROJECT_ID, GCP_GCS_BUCKET, BIGQUERY_DATASET,
GOOGLE_APPLICATION_CREDENTIALS, connection google_cloud_default) and the Airflow Variable
TAXI_URL_TEMPLATE. The pipeline's logic lives in the taxi_ingest package (plugins/: gcp_setup, normalize,
gcp); this file says when, what and with which settings, and holds the Airflow glue: the connection's
hooks and the skip decisions. Without a key the file still parses and the first task, check_gcp_setup,
fails at once saying where to put the key.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.exceptions import AirflowSkipException
from airflow.timetables.interval import CronDataIntervalTimetable

try:  # Airflow 3
    from airflow.sdk import dag, task, task_group
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task, task_group

from taxi_ingest import gcp_setup
from taxi_ingest.sources import DEFAULT_URL_TEMPLATE, DOWNLOAD_RETRIES, TAXI_TYPES

CONN_ID = "google_cloud_default"
# Rendered when the task runs, so the Variable is not read while the scheduler parses this file.
MONTH = "{{ logical_date.strftime('%Y-%m') }}"
URL_TEMPLATE = "{{ var.value.get('TAXI_URL_TEMPLATE', '" + DEFAULT_URL_TEMPLATE + "') }}"
NO_BIGQUERY = "GCS emulator in use and no BIGQUERY_EMULATOR_HOST: not touching BigQuery"


def _gcs_hook():
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    return GCSHook(gcp_conn_id=CONN_ID)


def _bigquery_client(project: str):
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    return BigQueryHook(gcp_conn_id=CONN_ID, use_legacy_sql=False).get_client(project_id=project)


@task(retries=0)  # a missing key or setting stays missing: fail at once
def check_gcp_setup() -> None:
    gcp_setup.check_gcp_setup()


@task(**DOWNLOAD_RETRIES)
def download(taxi: str, month: str, url_template: str) -> str:
    from taxi_ingest.download import download_month

    return str(download_month(taxi, month, url_template))


@task
def convert_to_parquet(src: str, taxi: str, month: str) -> str:
    from taxi_ingest.normalize import convert_month

    return str(convert_month(src, taxi, month))


@task
def upload_to_gcs(local_path: str, taxi: str, month: str) -> str:
    from taxi_ingest import gcp

    name = gcp.object_name(taxi, month, local_path)
    return gcp.upload_to_gcs(_gcs_hook(), local_path, gcp_setup.require_env("GCP_GCS_BUCKET"), name)


@task
def external_table(taxi: str) -> str:
    from taxi_ingest import gcp

    if not gcp_setup.bigquery_reachable():
        raise AirflowSkipException(NO_BIGQUERY)
    project = gcp_setup.require_env("GCP_PROJECT_ID")
    dataset, bucket = gcp_setup.require_env("BIGQUERY_DATASET"), gcp_setup.require_env("GCP_GCS_BUCKET")
    return gcp.ensure_external_table(_bigquery_client(project), project, dataset, taxi, bucket)


@task
def partitioned_table(taxi: str) -> str:
    from taxi_ingest import gcp

    if not gcp_setup.partitioned_table_wanted():
        raise AirflowSkipException("BIGQUERY_PARTITIONED_TABLE is not true")
    if not gcp_setup.bigquery_reachable():
        raise AirflowSkipException(NO_BIGQUERY)
    project, dataset = gcp_setup.require_env("GCP_PROJECT_ID"), gcp_setup.require_env("BIGQUERY_DATASET")
    return gcp.ensure_partitioned_table(_bigquery_client(project), project, dataset, taxi)


@dag(
    dag_id="data_ingestion_gcs",
    description="NYC taxi trips to GCS as parquet, queried through BigQuery external tables",
    # The 2nd of each month (the previous month's file is out by then), with Airflow 2's meaning on
    # both majors: the run of 2021-03-02 processes 2021-03, its data interval. (Airflow 3 reads a
    # plain cron string as CronTriggerTimetable, whose logical date is the run time: another month.)
    schedule=CronDataIntervalTimetable("0 6 2 * *", timezone="UTC"),
    start_date=pendulum.datetime(2021, 1, 1, tz="UTC"),
    end_date=pendulum.datetime(2021, 7, 31, tz="UTC"),
    catchup=True,
    max_active_runs=1,  # unpausing walks the range one month at a time
    default_args={"owner": "airflow", "retries": 2, "retry_delay": timedelta(minutes=2)},
    tags=["nyc-taxi", "gcp"],
    doc_md=__doc__,
)
def data_ingestion_gcs():
    setup = check_gcp_setup()
    for taxi in TAXI_TYPES:

        @task_group(group_id=taxi)
        def ingest(taxi: str = taxi):
            src = download(taxi, MONTH, URL_TEMPLATE)
            local = convert_to_parquet(src, taxi, MONTH)
            uploaded = upload_to_gcs(local, taxi, MONTH)
            table = external_table(taxi)
            uploaded >> table >> partitioned_table(taxi)

        setup >> ingest()


data_ingestion_gcs()
