# Test-only: a GCS API emulator for the in-stack run of data_ingestion_gcs. Built from the
# official Airflow image the project builds on (no extra base image to pull; not the project
# image, which compose v2 builds at the same time), in a separate venv so Airflow's packages
# are untouched.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# The venv's pip would trust only its own certificate bundle; the system's store is the image's.
RUN python -m venv /home/airflow/gcs-emulator \
    && PIP_USER=false PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
        /home/airflow/gcs-emulator/bin/pip install --no-cache-dir gcp-storage-emulator==2026.7.19
