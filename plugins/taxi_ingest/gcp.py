"""Google Cloud Storage and BigQuery steps of the GCS pipeline: object names, upload, tables.

The Google objects come in as arguments, built by dags/data_ingestion_gcs.py from the Airflow
connection: a GCSHook for the upload, a google-cloud-bigquery Client for the tables. This module
imports neither Airflow nor (at module level) the Google libraries, so importing it stays cheap and
works without a key, a connection or a network. Settings and the key check: gcp_setup.py.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from taxi_ingest.errors import GcpConfigError, IngestError
from taxi_ingest.schemas import schema_for
from taxi_ingest.sources import check_taxi, file_stem, parse_month

log = logging.getLogger(__name__)

# Files over 8 MiB go up as a resumable upload in chunks of this size (a multiple of 256 KiB), so a
# dropped connection costs one chunk, not the whole month; google-cloud-storage sends smaller files
# in one multipart request whatever the chunk size.
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024


# --------------------------------------------------------------------------------------------------
# GCS
# --------------------------------------------------------------------------------------------------


def object_name(taxi: str, month: str, filename: str) -> str:
    """``raw/<taxi>/<year>/<file stem>.parquet`` (``yellow_tripdata_2021-01.csv.gz`` -> ``...01.parquet``)."""
    year = f"{parse_month(month).year:04d}"
    stem = file_stem(filename)
    if not stem or stem.startswith("."):
        raise IngestError(f"cannot derive an object name from {filename!r}")
    return f"raw/{check_taxi(taxi)}/{year}/{stem}.parquet"


def upload_to_gcs(
    hook,
    local_path: str | os.PathLike,
    bucket: str,
    object_name: str,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> str:
    """Upload a file through `hook` (Airflow's GCSHook); returns ``gs://bucket/object``.

    Over 8 MiB it goes as a resumable upload in ``chunk_size`` chunks, below as one request. Either
    way the object appears only once complete, and re-running replaces it (same name, new
    content): the step is idempotent.
    """
    local_path = Path(local_path)
    if not local_path.is_file():
        raise IngestError(f"nothing to upload: {local_path} does not exist")
    hook.upload(
        bucket_name=bucket,
        object_name=object_name,
        filename=str(local_path),
        mime_type="application/vnd.apache.parquet",
        chunk_size=chunk_size,
        # Not more: GCSHook.upload's retry loop has no `break` after a success (checked in the
        # image's provider 20.0.0 and in 22.8.0), so num_max_attempts=3 uploads every file three
        # times. Failed uploads are retried by the task's retries instead (a rerun replaces the object).
        num_max_attempts=1,
    )
    uri = f"gs://{bucket}/{object_name}"
    log.info("Uploaded %s (%d bytes) to %s", local_path, local_path.stat().st_size, uri)
    return uri


# --------------------------------------------------------------------------------------------------
# BigQuery
# --------------------------------------------------------------------------------------------------


def external_table_id(taxi: str) -> str:
    return f"external_{check_taxi(taxi)}_tripdata"


def partitioned_table_id(taxi: str) -> str:
    return f"{check_taxi(taxi)}_tripdata_partitioned"


def source_uri(bucket: str, taxi: str) -> str:
    """One wildcard over the taxi type's whole prefix: every month, every year."""
    return f"gs://{bucket}/raw/{check_taxi(taxi)}/*"


def ensure_external_table(
    client,
    project: str,
    dataset: str,
    taxi: str,
    bucket: str,
    table: str | None = None,
) -> str:
    """Create, or update if it exists, the external table over ``gs://<bucket>/raw/<taxi>/*`` (PARQUET).

    `client` is a google.cloud.bigquery.Client. Returns the table's full id ``project.dataset.table``.
    Idempotent.
    """
    from google.api_core.exceptions import Conflict, NotFound
    from google.cloud import bigquery

    table_ref = f"{project}.{dataset}.{table or external_table_id(taxi)}"
    config = bigquery.ExternalConfig("PARQUET")
    config.source_uris = [source_uri(bucket, taxi)]

    def _update() -> None:
        existing = client.get_table(table_ref)
        existing.external_data_configuration = config
        client.update_table(existing, ["external_data_configuration"])
        log.info("Updated external table %s over %s", table_ref, config.source_uris[0])

    try:
        client.get_table(table_ref)
    except NotFound:
        new_table = bigquery.Table(table_ref)
        new_table.external_data_configuration = config
        try:
            client.create_table(new_table)
        except Conflict:  # created meanwhile by a concurrent run
            _update()
        except NotFound as exc:
            raise GcpConfigError(
                f"Cannot create {table_ref}: {exc.message}. Create the dataset {project}:{dataset} "
                "first (BigQuery console, or `bq mk`) or fix BIGQUERY_DATASET / GCP_PROJECT_ID in .env."
            ) from None
        else:
            log.info("Created external table %s over %s", table_ref, config.source_uris[0])
    else:
        _update()
    return table_ref


def ensure_partitioned_table(
    client,
    project: str,
    dataset: str,
    taxi: str,
    pickup_column: str | None = None,
) -> str:
    """(Re)build a native table partitioned by pickup date from the external table. Idempotent."""
    pickup = pickup_column or schema_for(check_taxi(taxi)).pickup
    target = f"{project}.{dataset}.{partitioned_table_id(taxi)}"
    source = f"{project}.{dataset}.{external_table_id(taxi)}"
    sql = f"CREATE OR REPLACE TABLE `{target}`\nPARTITION BY DATE(`{pickup}`)\nAS SELECT * FROM `{source}`"
    client.query(sql).result()
    log.info("Rebuilt %s partitioned by DATE(%s)", target, pickup)
    return target
