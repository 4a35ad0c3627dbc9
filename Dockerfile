# airflow-lite image: the official Airflow image plus requirements.txt and our start-up script.
# Multi-arch: no architecture-specific downloads, no gcloud SDK (the provider's Python clients
# talk to GCP). Keys, logs and data are mounted at run time and never copied in (.dockerignore).
# Both set by docker compose from .env (AIRFLOW_VERSION, AIRFLOW_PYTHON_VERSION), the one place
# they are written: `docker compose build`, not a bare `docker build`.
ARG AIRFLOW_VERSION
ARG PYTHON_VERSION
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

ARG AIRFLOW_VERSION
# What scripts/ need to know about this image: which Airflow major runs its components.
ENV AIRFLOW_LITE_AIRFLOW_VERSION=${AIRFLOW_VERSION}

# The PostgreSQL client's own psql, pg_isready, pg_dump and pg_restore in /usr/local/bin, ahead of
# /usr/bin's on PATH: those are Debian's pg_wrapper, a Perl script that finds the newest installed
# client and execs it: ~25 ms of CPU per call, twice what psql itself costs, and the healthchecks
# call psql every few seconds for months (docs/memory.md). The same client pg_wrapper would pick,
# found once here: the image's apt.postgresql.org client has no fixed major.
USER root
RUN set -e; \
    client_bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -n 1)"; \
    test -x "${client_bin}/psql" || { echo "no PostgreSQL client under /usr/lib/postgresql" >&2; exit 1; }; \
    for tool in psql pg_isready pg_dump pg_restore; do ln -sf "${client_bin}/${tool}" "/usr/local/bin/${tool}"; done

# As the airflow user (pip refuses root in this image). Naming apache-airflow and using the
# image's own constraints keeps pip from moving Airflow or anything else the image pins.
USER airflow
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir \
        --constraint /home/airflow/constraints.txt \
        "apache-airflow==${AIRFLOW_VERSION}" \
        -r /opt/airflow/requirements.txt
# The 2.11.2 image pins gunicorn 25.1.0, whose control-socket thread can deadlock a freshly forked
# worker (stuck logging "Booting worker": benoitc/gunicorn#3509, #3529; the fork race fixed in 26.1
# by #3651). The webserver and every Celery worker's log server fork gunicorn workers; a stuck one
# holds `docker compose stop` for the whole grace period. Airflow 3 images have no gunicorn.
RUN if [ "$(pip show gunicorn 2>/dev/null | sed -n 's/^Version: //p')" = "25.1.0" ]; then \
        pip install --no-cache-dir --no-deps "gunicorn==26.2.0"; \
    fi

COPY --chown=airflow:0 scripts/ /opt/airflow/scripts/
# Read by every Airflow process at start ($AIRFLOW_HOME/config is on its path): keeps forked
# processes off their parent's database connections (see the file).
COPY --chown=airflow:0 scripts/airflow_local_settings.py /opt/airflow/config/airflow_local_settings.py

# Per-installation keys live in a named volume mounted here; a new volume copies this
# directory's owner and mode, so any AIRFLOW_UID in group 0 can write it and nobody else can.
RUN mkdir -p /opt/airflow/secrets && chmod 0770 /opt/airflow/secrets

# dumb-init stays PID 1 and the official /entrypoint stays in the chain: scripts/entrypoint.sh
# does our start-up work and then execs it.
ENTRYPOINT ["/usr/bin/dumb-init", "--", "/opt/airflow/scripts/entrypoint.sh"]
CMD []
