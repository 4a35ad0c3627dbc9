"""Settings of the GCS pipeline, read from the environment when a task runs, and the key check.

- ``GCP_PROJECT_ID``, ``GCP_GCS_BUCKET``, ``BIGQUERY_DATASET``: where the data goes.
- ``GOOGLE_APPLICATION_CREDENTIALS``: path of the service-account key (compose sets it from
  ``GCP_KEY_FILE`` in ``.env``); the Airflow connection ``google_cloud_default`` points at the same file.
- ``BIGQUERY_PARTITIONED_TABLE``: "true" to also (re)build a native table partitioned by pickup date.
- ``STORAGE_EMULATOR_HOST`` (tests only): talk to a GCS emulator; the key check is then skipped and the
  connection should be anonymous (``google-cloud-platform://?is_anonymous=true&project=...``).
  BigQuery is then left alone unless ``BIGQUERY_EMULATOR_HOST`` points at a local fake.

Every error names what to set or put where; the key's contents never appear in a message or a log.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from taxi_ingest.errors import GcpConfigError, GcpCredentialsError

log = logging.getLogger(__name__)

DEFAULT_KEY_FILE = "google_credentials.json"
CONTAINER_KEY_DIR = "/opt/airflow/google"
MAX_KEY_BYTES = 1024 * 1024
REQUIRED_SETTINGS = ("GCP_PROJECT_ID", "GCP_GCS_BUCKET", "BIGQUERY_DATASET")

_SERVICE_ACCOUNT_FIELDS = ("client_email", "private_key", "token_uri")
_KNOWN_CREDENTIAL_TYPES = (
    "service_account",
    "authorized_user",
    "external_account",
    "external_account_authorized_user",
    "impersonated_service_account",
    "gdch_service_account",
)


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


def bigquery_reachable() -> bool:
    """False in emulator mode without a BigQuery fake: tests must never reach the real BigQuery."""
    return not emulator_mode() or bool(os.environ.get("BIGQUERY_EMULATOR_HOST"))


def partitioned_table_wanted() -> bool:
    return os.environ.get("BIGQUERY_PARTITIONED_TABLE", "").strip().lower() in ("1", "true", "yes", "on")


def require_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise GcpConfigError(f"{name} is not set: set it in .env (the compose file passes it to Airflow).")
    return value


def check_gcp_setup() -> None:
    """Fail at once, with a helpful message, if the key or a setting is missing (first task of the DAG)."""
    if emulator_mode() and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        log.info("STORAGE_EMULATOR_HOST is set and no key configured: skipping the key check")
    else:
        check_credentials()
    missing = [name for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    if missing:
        raise GcpConfigError(
            f"Not set: {', '.join(missing)}. Set them in .env (the compose file passes them to Airflow)."
        )
