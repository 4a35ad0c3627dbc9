"""The key and settings check (taxi_ingest.gcp_setup), and the DAG's first task that runs it: without
a key it fails at once, saying where to put the key, and never shows the key's contents."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from support.gcp_fakes import fake_service_account_key

from taxi_ingest import gcp_setup
from taxi_ingest.errors import GcpCredentialsError, IngestError

SECRET = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-do-not-print-me"


def _write_key(path: Path, content) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _assert_helpful(message: str, key_file: str = "google_credentials.json") -> None:
    assert f"google/{key_file}" in message
    assert f"/opt/airflow/google/{key_file}" in message
    assert "GCP_KEY_FILE" in message and ".env" in message
    assert SECRET not in message


def test_unset_variable(monkeypatch):
    with pytest.raises(GcpCredentialsError) as err:
        gcp_setup.check_credentials()
    assert "GOOGLE_APPLICATION_CREDENTIALS is not set" in str(err.value)
    _assert_helpful(str(err.value))
    assert isinstance(err.value, IngestError)


def test_missing_file_names_the_path_and_the_configured_key_name(monkeypatch, tmp_path):
    monkeypatch.setenv("GCP_KEY_FILE", "my-project-key.json")
    missing = tmp_path / "google" / "my-project-key.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(missing))
    with pytest.raises(GcpCredentialsError) as err:
        gcp_setup.check_credentials()
    assert str(missing) in str(err.value) and "does not exist" in str(err.value)
    _assert_helpful(str(err.value), "my-project-key.json")


def test_directory_instead_of_file(tmp_path):
    """What Docker creates when a missing host file is bind-mounted on its own."""
    with pytest.raises(GcpCredentialsError, match="is a directory") as err:
        gcp_setup.check_credentials(tmp_path)
    _assert_helpful(str(err.value))


def test_unreadable_file(tmp_path, monkeypatch):
    key = _write_key(tmp_path / "k.json", fake_service_account_key(SECRET))

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(GcpCredentialsError, match="Cannot read .*Permission denied") as err:
        gcp_setup.check_credentials(key)
    _assert_helpful(str(err.value))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n", "is not a JSON file"),
        ("", "is not a JSON file"),
        (f'["{SECRET}"]', "not a service-account key object"),
        ({"type": "authorized_user", "refresh_token": SECRET}, 'its "type" is authorized_user'),
        ({"type": SECRET, "private_key": SECRET}, '"type" is missing or unknown'),
        ({"private_key": SECRET}, '"type" is missing or unknown'),
        ({**fake_service_account_key(SECRET), "client_email": ""}, "no client_email"),
        ({k: v for k, v in fake_service_account_key(SECRET).items() if k != "private_key"}, "no private_key"),
    ],
)
def test_not_a_service_account_key(tmp_path, caplog, content, expected):
    key = _write_key(tmp_path / "google_credentials.json", content)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(GcpCredentialsError) as err:
        gcp_setup.check_credentials(key)
    message = str(err.value)
    assert expected in message
    _assert_helpful(message)
    # Nothing of the key in the exception chain or the logs either.
    assert err.value.__cause__ is None
    assert err.value.__context__ is None or err.value.__suppress_context__
    assert SECRET not in caplog.text


def test_valid_key_passes_without_logging_its_contents(tmp_path, monkeypatch, caplog):
    key = _write_key(tmp_path / "google_credentials.json", fake_service_account_key(SECRET))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    caplog.set_level(logging.DEBUG)
    assert gcp_setup.check_credentials() == key
    assert SECRET not in caplog.text and "ingest@" not in caplog.text


def test_setup_check_names_missing_settings(tmp_path, monkeypatch):
    key = _write_key(tmp_path / "google_credentials.json", fake_service_account_key(SECRET))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    monkeypatch.setenv("GCP_PROJECT_ID", "p")
    with pytest.raises(IngestError, match="Not set: GCP_GCS_BUCKET, BIGQUERY_DATASET"):
        gcp_setup.check_gcp_setup()
    monkeypatch.setenv("GCP_GCS_BUCKET", "b")
    monkeypatch.setenv("BIGQUERY_DATASET", "d")
    gcp_setup.check_gcp_setup()


def test_setup_check_skips_the_key_for_the_emulator(monkeypatch):
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", "http://127.0.0.1:9")
    for name in ("GCP_PROJECT_ID", "GCP_GCS_BUCKET", "BIGQUERY_DATASET"):
        monkeypatch.setenv(name, "x")
    gcp_setup.check_gcp_setup()
    # ...but a configured key must still be a good one.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    with pytest.raises(GcpCredentialsError):
        gcp_setup.check_gcp_setup()


# ---- the DAG's first task ----------------------------------------------------------------------------


def test_first_task_fails_at_once_with_the_helpful_message(dagbag, tmp_path, monkeypatch):
    dag = dagbag.dags["data_ingestion_gcs"]
    first = dag.get_task("check_gcp_setup")
    # A key file that is not a service-account key, with something secret inside.
    bad = _write_key(
        tmp_path / "google_credentials.json", {"type": "authorized_user", "refresh_token": SECRET}
    )
    for env in ({}, {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "nowhere" / "google_credentials.json")},
                {"GOOGLE_APPLICATION_CREDENTIALS": str(bad)}):  # fmt: skip
        monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        started = time.monotonic()
        with pytest.raises(GcpCredentialsError) as err:
            first.python_callable()
        assert time.monotonic() - started < 1.0
        _assert_helpful(str(err.value))


def test_hint_uses_the_file_name_from_google_application_credentials(monkeypatch):
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/opt/airflow/google/my-sa.json")
    with pytest.raises(GcpCredentialsError) as err:
        gcp_setup.check_credentials()
    _assert_helpful(str(err.value), "my-sa.json")


# ---- the connection the compose file defines ---------------------------------------------------------


@pytest.fixture(scope="module")
def real_looking_key(tmp_path_factory):
    """A service-account key google-auth accepts (a real RSA key; it is never sent anywhere)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode()
    )
    info = {**fake_service_account_key(), "private_key": pem}
    return _write_key(tmp_path_factory.mktemp("google") / "google_credentials.json", info), info


@pytest.mark.parametrize(
    "form",
    [
        # what the lead planned for docker-compose.yaml (prefixed extras in a URI)
        "google-cloud-platform://?extra__google_cloud_platform__key_path={key}"
        "&extra__google_cloud_platform__project={project}",
        # short extras names (provider >= 9 style)
        "google-cloud-platform://?key_path={key}&project={project}",
        # what docker-compose.yaml sets (percent-encoded path)
        "google-cloud-platform://?key_path={key_quoted}&project={project}",
        # JSON form
        '{{"conn_type": "google_cloud_platform", "extra": {{"key_path": "{key}", "project": "{project}"}}}}',
    ],
    ids=["uri-prefixed", "uri-short", "uri-compose", "json"],
)
def test_compose_connection_forms_give_key_credentials_and_project(real_looking_key, monkeypatch, form):
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
    from airflow.providers.google.cloud.hooks.gcs import GCSHook
    from google.oauth2 import service_account

    key, info = real_looking_key
    monkeypatch.setenv(
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
        form.format(key=key, key_quoted=quote(str(key), safe=""), project="my-gcp-project"),
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    assert gcp_setup.check_credentials() == key

    hook = GCSHook()
    credentials, project = hook.get_credentials_and_project_id()
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == info["client_email"]
    assert project == "my-gcp-project"
    assert hook.get_conn().project == "my-gcp-project"
    assert (
        BigQueryHook(use_legacy_sql=False).get_client(project_id="my-gcp-project").project == "my-gcp-project"
    )
