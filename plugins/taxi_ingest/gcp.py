"""Google Cloud Storage + BigQuery steps of the taxi pipeline.

Thin wrappers over the google provider's hooks. Airflow and the Google client libraries are imported
inside the functions only, so importing this module (e.g. while a DAG file is parsed) stays cheap and
works without a key, a connection or a network.

Configuration comes from the environment, read when a task runs:

- ``GCP_PROJECT_ID``, ``GCP_GCS_BUCKET``, ``BIGQUERY_DATASET``: where the data goes.
- ``GOOGLE_APPLICATION_CREDENTIALS``: path of the service-account key (compose sets it from
  ``GCP_KEY_FILE`` in ``.env``); the Airflow connection ``google_cloud_default`` points at the same file.
- ``BIGQUERY_PARTITIONED_TABLE``: "true" to also (re)build a native table partitioned by pickup date.
- ``STORAGE_EMULATOR_HOST`` (tests only): talk to a GCS emulator; the key check is then skipped and the
  connection should be anonymous (``google-cloud-platform://?is_anonymous=true&project=...``).
  BigQuery steps are skipped in that mode unless ``BIGQUERY_EMULATOR_HOST`` points at a local fake.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from taxi_ingest.errors import IngestError
from taxi_ingest.schemas import schema_for
from taxi_ingest.sources import check_taxi, parse_month

log = logging.getLogger(__name__)

DEFAULT_CONN_ID = "google_cloud_default"
DEFAULT_KEY_FILE = "google_credentials.json"
CONTAINER_KEY_DIR = "/opt/airflow/google"
# Files over 8 MiB go up as a resumable upload in chunks of this size (a multiple of 256 KiB), so a
# dropped connection costs one chunk, not the whole month; google-cloud-storage sends smaller files
# in one multipart request whatever the chunk size.
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
MAX_KEY_BYTES = 1024 * 1024

_SOURCE_SUFFIXES = (".csv.gz", ".csv", ".parquet", ".gz")
_SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")
_KNOWN_CREDENTIAL_TYPES = (
    "service_account",
    "authorized_user",
    "external_account",
    "external_account_authorized_user",
    "impersonated_service_account",
    "gdch_service_account",
)


class GcpCredentialsError(IngestError):
    """The service-account key is missing, unreadable or not a service-account key."""


class GcpConfigError(IngestError):
    """A required setting (environment variable) of the GCS pipeline is missing or invalid."""


# --------------------------------------------------------------------------------------------------
# Credentials and settings
# --------------------------------------------------------------------------------------------------


def _key_hint() -> str:
    # The name the user chose: GCP_KEY_FILE if passed through, else the file GOOGLE_APPLICATION_CREDENTIALS
    # names (compose sets it to /opt/airflow/google/${GCP_KEY_FILE}), else the default.
    configured = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "").strip()
    key_file = os.environ.get("GCP_KEY_FILE") or (Path(configured).name if configured else DEFAULT_KEY_FILE)
    return (
        f"Put your service-account key at google/{key_file} on the host "
        f"(mounted read-only at {CONTAINER_KEY_DIR}/{key_file}) "
        "or set GCP_KEY_FILE in .env to the name of the key file you put in google/, "
        "then restart the stack (docker compose up -d)."
    )


def check_credentials(path: str | os.PathLike | None = None) -> Path:
    """Check that ``path`` (default ``$GOOGLE_APPLICATION_CREDENTIALS``) is a service-account key.

    Returns the path. Raises :class:`GcpCredentialsError` (an ``IngestError``) saying what to put where.
    The key's contents never appear in a message or a log line.
    """
    if path is None or str(path) == "":
        path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", "")
    if not str(path).strip():
        raise GcpCredentialsError("GOOGLE_APPLICATION_CREDENTIALS is not set. " + _key_hint())
    key = Path(path)
    if not key.exists():
        raise GcpCredentialsError(f"No service-account key at {key}: the file does not exist. " + _key_hint())
    if key.is_dir():
        # What Docker leaves behind when a missing host file is bind-mounted on its own.
        raise GcpCredentialsError(f"{key} is a directory, not a service-account key file. " + _key_hint())
    try:
        with key.open("rb") as fh:
            raw = fh.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise GcpCredentialsError(
            f"Cannot read the service-account key {key}: {exc.strerror or type(exc).__name__}. "
            "The file must be readable by the Airflow user (uid 50000 or AIRFLOW_UID, gid 0): "
            "chmod 644 it on the host. " + _key_hint()
        ) from None
    if len(raw) > MAX_KEY_BYTES:
        raise GcpCredentialsError(f"{key} is too large to be a service-account key. " + _key_hint())
    try:
        info = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        # `from None`: the decode error carries the document, i.e. the key contents.
        raise GcpCredentialsError(
            f"{key} is not a JSON file; expected a service-account key (JSON) downloaded from "
            "IAM > Service accounts > Keys. " + _key_hint()
        ) from None
    if not isinstance(info, dict):
        raise GcpCredentialsError(f"{key} is JSON but not a service-account key object. " + _key_hint())
    cred_type = info.get("type")
    if cred_type != "service_account":
        shown = cred_type if cred_type in _KNOWN_CREDENTIAL_TYPES else "missing or unknown"
        raise GcpCredentialsError(
            f'{key} is not a service-account key (its "type" is {shown}, expected "service_account"). '
            + _key_hint()
        )
    missing = [field for field in _SERVICE_ACCOUNT_FIELDS if not info.get(field)]
    if missing:
        raise GcpCredentialsError(
            f"{key} is an incomplete service-account key (no {', '.join(missing)}). " + _key_hint()
        )
    log.info("Service-account key found at %s", key)
    return key


def emulator_mode() -> bool:
    """True when the GCS endpoint is overridden for tests (``STORAGE_EMULATOR_HOST``)."""
    return bool(os.environ.get("STORAGE_EMULATOR_HOST"))


def require_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise GcpConfigError(f"{name} is not set: set it in .env (the compose file passes it to Airflow).")
    return value


def check_gcp_setup() -> None:
    """First task of the GCS DAG: fail at once, with a helpful message, if the setup is incomplete."""
    if emulator_mode() and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        log.info("STORAGE_EMULATOR_HOST is set and no key configured: skipping the key check")
    else:
        check_credentials()
    missing = [n for n in ("GCP_PROJECT_ID", "GCP_GCS_BUCKET", "BIGQUERY_DATASET") if not os.environ.get(n)]
    if missing:
        raise GcpConfigError(
            f"Not set: {', '.join(missing)}. Set them in .env (the compose file passes them to Airflow)."
        )


# --------------------------------------------------------------------------------------------------
# GCS
# --------------------------------------------------------------------------------------------------


def _stem(filename: str) -> str:
    name = Path(filename).name
    for suffix in _SOURCE_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def object_name(taxi: str, month: str, filename: str) -> str:
    """``raw/<taxi>/<year>/<file stem>.parquet`` (``yellow_tripdata_2021-01.csv.gz`` -> ``...01.parquet``)."""
    year = f"{parse_month(month).year:04d}"
    stem = _stem(filename)
    if not stem or stem.startswith("."):
        raise IngestError(f"cannot derive an object name from {filename!r}")
    return f"raw/{check_taxi(taxi)}/{year}/{stem}.parquet"


def upload_to_gcs(
    local_path: str | os.PathLike,
    bucket: str,
    object_name: str,
    gcp_conn_id: str = DEFAULT_CONN_ID,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> str:
    """Upload a file through GCSHook; returns ``gs://bucket/object``.

    Over 8 MiB it goes as a resumable upload in ``chunk_size`` chunks, below as one request. Either
    way the object appears only once complete, and re-running replaces it (same name, new
    content): the step is idempotent.
    """
    from airflow.providers.google.cloud.hooks.gcs import GCSHook

    local_path = Path(local_path)
    if not local_path.is_file():
        raise IngestError(f"nothing to upload: {local_path} does not exist")
    hook = GCSHook(gcp_conn_id=gcp_conn_id)
    hook.upload(
        bucket_name=bucket,
        object_name=object_name,
        filename=str(local_path),
        mime_type="application/vnd.apache.parquet",
        chunk_size=chunk_size,
        # Not more: in provider 22.8.0 GCSHook.upload's retry loop has no `break` after a success,
        # so num_max_attempts=3 uploads every file three times. Failed uploads are retried by the
        # task's retries instead (a rerun replaces the object).
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


def _bq_client(project: str, gcp_conn_id: str, location: str | None = None):
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    hook = BigQueryHook(gcp_conn_id=gcp_conn_id, use_legacy_sql=False, location=location)
    return hook.get_client(project_id=project, location=location)


def ensure_external_table(
    project: str,
    dataset: str,
    taxi: str,
    bucket: str,
    gcp_conn_id: str = DEFAULT_CONN_ID,
    table: str | None = None,
) -> str:
    """Create, or update if it exists, the external table over ``gs://<bucket>/raw/<taxi>/*`` (PARQUET).

    Returns the table's full id ``project.dataset.table``. Idempotent.
    """
    from google.api_core.exceptions import Conflict, NotFound
    from google.cloud import bigquery

    table_ref = f"{project}.{dataset}.{table or external_table_id(taxi)}"
    config = bigquery.ExternalConfig("PARQUET")
    config.source_uris = [source_uri(bucket, taxi)]
    client = _bq_client(project, gcp_conn_id)

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
    project: str,
    dataset: str,
    taxi: str,
    gcp_conn_id: str = DEFAULT_CONN_ID,
    pickup_column: str | None = None,
    location: str | None = None,
) -> str:
    """(Re)build a native table partitioned by pickup date from the external table. Idempotent."""
    pickup = pickup_column or schema_for(check_taxi(taxi)).pickup
    target = f"{project}.{dataset}.{partitioned_table_id(taxi)}"
    source = f"{project}.{dataset}.{external_table_id(taxi)}"
    sql = f"CREATE OR REPLACE TABLE `{target}`\nPARTITION BY DATE(`{pickup}`)\nAS SELECT * FROM `{source}`"
    client = _bq_client(project, gcp_conn_id, location)
    client.query(sql).result()
    log.info("Rebuilt %s partitioned by DATE(%s)", target, pickup)
    return target


# --------------------------------------------------------------------------------------------------
# Task callables of dags/data_ingestion_gcs.py (read env at run time)
# --------------------------------------------------------------------------------------------------


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _bigquery_reachable() -> bool:
    """In emulator mode only talk to BigQuery if a fake endpoint is configured too."""
    return not emulator_mode() or bool(os.environ.get("BIGQUERY_EMULATOR_HOST"))


def _skip(reason: str):
    from airflow.exceptions import AirflowSkipException

    log.info("Skipping: %s", reason)
    return AirflowSkipException(reason)


def normalized_path(src: str | os.PathLike) -> Path:
    """Where the normalized parquet of a downloaded file goes (next to it, in ``parquet/``)."""
    src = Path(src)
    return src.parent / "parquet" / f"{_stem(src.name)}.parquet"


def convert_month(src: str, taxi: str) -> str:
    from taxi_ingest.parquet import convert_to_parquet

    dst = normalized_path(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    rows = convert_to_parquet(Path(src), dst, taxi)
    log.info("Converted %s to %s (%d rows)", src, dst, rows)
    return str(dst)


def upload_month(local_path: str, taxi: str, month: str, gcp_conn_id: str = DEFAULT_CONN_ID) -> str:
    bucket = require_env("GCP_GCS_BUCKET")
    return upload_to_gcs(local_path, bucket, object_name(taxi, month, Path(local_path).name), gcp_conn_id)


def external_table_task(taxi: str, gcp_conn_id: str = DEFAULT_CONN_ID) -> str:
    if not _bigquery_reachable():
        raise _skip("GCS emulator in use and no BIGQUERY_EMULATOR_HOST: not touching BigQuery")
    return ensure_external_table(
        require_env("GCP_PROJECT_ID"),
        require_env("BIGQUERY_DATASET"),
        taxi,
        require_env("GCP_GCS_BUCKET"),
        gcp_conn_id=gcp_conn_id,
    )


def partitioned_table_task(taxi: str, gcp_conn_id: str = DEFAULT_CONN_ID) -> str:
    if not _flag("BIGQUERY_PARTITIONED_TABLE"):
        raise _skip("BIGQUERY_PARTITIONED_TABLE is not true")
    if not _bigquery_reachable():
        raise _skip("GCS emulator in use and no BIGQUERY_EMULATOR_HOST: not touching BigQuery")
    return ensure_partitioned_table(
        require_env("GCP_PROJECT_ID"), require_env("BIGQUERY_DATASET"), taxi, gcp_conn_id=gcp_conn_id
    )
