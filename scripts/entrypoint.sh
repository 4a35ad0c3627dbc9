#!/usr/bin/env bash
# airflow-lite start-up, run by dumb-init in every Airflow container before the official
# /entrypoint (which stays in the chain: it sets up arbitrary uids, runs the command, etc.).
# One script for both Airflow majors (AIRFLOW_VERSION in .env; the image records it).
#
#   entrypoint.sh init          one-shot (the airflow-init service, started as root):
#                               make the mounted folders writable for AIRFLOW_UID, create the
#                               per-installation keys once (Fernet, web/API secret key, and on
#                               Airflow 3 the JWT secret), refuse a database that a newer Airflow
#                               already migrated, then, as AIRFLOW_UID:0, migrate it
#                               (`airflow db migrate`) and create the admin user from .env
#                               unless it is there already.
#   entrypoint.sh backup | restore FILE [--force]
#                               backup and restore of the databases and keys (scripts/backup.sh).
#   entrypoint.sh webserver     Airflow 2: the webserver; Airflow 3: `airflow api-server` (UI + API).
#   entrypoint.sh scheduler [ARGS...]
#                               Airflow 2: the scheduler; Airflow 3: the scheduler and, beside it in
#                               this container, `airflow dag-processor` (3.x parses DAGs there).
#   entrypoint.sh retention     the retention service: old logs, metadata and downloads deleted
#                               at start and periodically (scripts/retention.sh).
#   entrypoint.sh <anything>    wait for the database, then hand over to /entrypoint, so
#                               `airflow db upgrade` (2.x), `bash` ... work as with the official image.
#
# What the containers rely on: only what the official images ship (checked against the
# apache/airflow Dockerfile and docker-stack changelog, which dropped its su helper in 2.8.3).
#   apache/airflow: bash, coreutils, findutils, util-linux's `setpriv` (Essential packages),
#                   `pg_isready` and `psql` (postgresql-client), curl (healthchecks), python,
#                   dumb-init, /entrypoint. Not git, wget or ps, and no su helper but setpriv.
#   postgres:       pg_isready, psql.      redis: redis-cli.
set -euo pipefail

SECRETS_DIR="${AIRFLOW_LITE_SECRETS_DIR:-/opt/airflow/secrets}"
DB_WAIT_SECONDS="${AIRFLOW_LITE_DB_WAIT_SECONDS:-60}"
# 2 or 3: the Airflow in this image (the Dockerfile records its AIRFLOW_VERSION).
AIRFLOW_MAJOR="${AIRFLOW_LITE_AIRFLOW_VERSION:?the image does not say its Airflow version (build it with docker compose build)}"
AIRFLOW_MAJOR="${AIRFLOW_MAJOR%%.*}"

log() { printf 'airflow-lite: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # libpq_url, metadata_sql

# pg_isready answers in milliseconds; the official check (`airflow db check`) costs a full
# Airflow CLI start (3-5 s) in every container, so the compose file turns that one off.
wait_for_database() {
    local url="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}"
    if [[ "${url}" != postgres* ]]; then
        log "metadata database is not Postgres (${url%%:*}): not waiting for it"
        return 0
    fi
    url="$(libpq_url)"
    local deadline=$((SECONDS + DB_WAIT_SECONDS))
    until pg_isready --quiet --timeout=2 --dbname="${url}"; do
        if ((SECONDS >= deadline)); then
            log "ERROR: the metadata database did not answer within ${DB_WAIT_SECONDS} s" \
                "(is the postgres service running? docker compose ps)"
            exit 1
        fi
        sleep 1
    done
}

# Folders bind-mounted from the host belong to whoever cloned the repo (or to root, when
# docker created them): hand them to AIRFLOW_UID, group 0, so task logs and downloads can be
# written whatever uid the host uses. Only what is not already right is touched.
prepare_mounted_dirs() {
    local dir
    for dir in /opt/airflow/logs /opt/airflow/data /opt/airflow/backups "${SECRETS_DIR}"; do
        mkdir -p "${dir}"
        find "${dir}" \( ! -user "${AIRFLOW_UID}" -o ! -group 0 \) -exec chown "${AIRFLOW_UID}:0" {} +
        find "${dir}" -type d ! -perm -g+rwx -exec chmod g+rwx {} +
    done
}

# Generated once per installation into the named volume; every component reads them through
# AIRFLOW__CORE__FERNET_KEY_CMD / AIRFLOW__WEBSERVER__SECRET_KEY_CMD, so they are the same
# everywhere, survive restarts and `down`/`up`, and are never in git or the image.
ensure_secret() {
    local name="$1" file="${SECRETS_DIR}/$1"
    [[ -s "${file}" ]] && return 0
    # 32 random bytes, url-safe base64: the format of a Fernet key, and a strong secret_key.
    head -c 32 /dev/urandom | base64 | tr '+/' '-_' >"${file}.tmp"
    chown "${AIRFLOW_UID}:0" "${file}.tmp"
    chmod 0440 "${file}.tmp"
    mv "${file}.tmp" "${file}"
    log "generated ${name} (kept in the airflow-secrets volume)"
}

# airflow-common.yaml gives each renamed setting under both names; Airflow 3 would warn about every
# 2.x name it still maps (and Airflow 2 ignores the 3.x names), so a 3.x process gets only its own.
drop_airflow2_settings() {
    if (( AIRFLOW_MAJOR >= 3 )); then
        unset AIRFLOW__WEBSERVER__SECRET_KEY_CMD AIRFLOW__WEBSERVER__WORKERS \
            AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL \
            AIRFLOW__API__AUTH_BACKENDS
    fi
}

# Going back a major (AIRFLOW_VERSION=2.11.2 on a database Airflow 3 migrated) cannot work: the
# older Airflow does not know the newer schema. Refused before anything runs against it.
refuse_newer_database() {
    local revision
    revision="$(psql --dbname="$(libpq_url)" --no-psqlrc -tAc 'SELECT version_num FROM alembic_version' \
        2>/dev/null || true)"
    [[ -n "${revision}" ]] || return 0  # a new, empty database
    python - "${revision}" <<'PY' && return 0
import importlib.util, pathlib, re, sys
# Airflow's migration scripts, found without importing Airflow (a CLI start costs seconds).
versions = pathlib.Path(importlib.util.find_spec("airflow").submodule_search_locations[0], "migrations", "versions")
known = re.compile(r'^revision = "' + re.escape(sys.argv[1]) + '"$', re.M)
sys.exit(0 if any(known.search(p.read_text()) for p in versions.glob("*.py")) else 1)
PY
    refuse "the metadata database was migrated by a newer Airflow (schema revision ${revision}," \
        "unknown to Airflow ${AIRFLOW_LITE_AIRFLOW_VERSION}); there is no way back in place." \
        "Set AIRFLOW_VERSION in .env back to the release that migrated it, or restore the backup" \
        "taken before upgrading into a fresh stack (README, \"Back up and restore\")"
}

# Settings that would expose the installation, or break it in ways that show up much later:
# refused before anything is touched, naming the .env setting to change.
refuse() {
    log "ERROR: $*"
    log "refusing to start: change .env, then docker compose up -d"
    exit 1
}

check_settings() {
    local bind="${AIRFLOW_LITE_WEB_BIND:-127.0.0.1}" pg_password="${AIRFLOW_LITE_POSTGRES_PASSWORD:-}"
    # Compose pastes POSTGRES_PASSWORD into the database URLs (metadata, ny_taxi, Celery results)
    # as it is; a URL-special character there makes Airflow parse another host, port or password.
    if [[ "${pg_password}" =~ [^A-Za-z0-9._~-] ]]; then
        refuse "POSTGRES_PASSWORD contains '${BASH_REMATCH[0]}': it is pasted into database URLs," \
            "where anything but letters, digits and - _ . ~ breaks them (use a long password of those)"
    fi
    case "${bind}" in
        127.* | localhost | ::1 | "[::1]") return 0 ;;
    esac
    # The UI and REST API are published beyond this machine: not with a login everybody knows.
    if [[ "${_AIRFLOW_WWW_USER_PASSWORD}" == airflow ]]; then
        refuse "AIRFLOW_WEB_BIND=${bind} publishes the UI and REST API to the network, but" \
            "AIRFLOW_ADMIN_PASSWORD is still the default 'airflow': set a strong one first" \
            "(or keep AIRFLOW_WEB_BIND=127.0.0.1)"
    fi
    if [[ "${pg_password}" == airflow ]]; then
        refuse "AIRFLOW_WEB_BIND=${bind} publishes the UI to the network, but POSTGRES_PASSWORD is" \
            "still the default 'airflow': set a strong one first (or keep AIRFLOW_WEB_BIND=127.0.0.1)"
    fi
}

run_init() {
    if [[ $(id -u) != 0 ]]; then
        log "ERROR: 'init' must start as root (user: \"0:0\") to fix the mounted folders' owner"
        exit 1
    fi
    : "${AIRFLOW_UID:?AIRFLOW_UID is not set (see .env)}"
    : "${_AIRFLOW_WWW_USER_USERNAME:?set _AIRFLOW_WWW_USER_USERNAME (AIRFLOW_ADMIN_USER in .env)}"
    : "${_AIRFLOW_WWW_USER_PASSWORD:?set _AIRFLOW_WWW_USER_PASSWORD (AIRFLOW_ADMIN_PASSWORD in .env)}"
    check_settings
    prepare_mounted_dirs
    ensure_secret fernet_key
    ensure_secret secret_key
    ensure_secret jwt_secret  # Airflow 3 signs the tokens of its API and of running tasks with it
    wait_for_database
    refuse_newer_database
    local admin="created"
    admin_user_exists && admin="already there"
    # Run through the official /entrypoint, as AIRFLOW_UID:0 so nothing Airflow writes under logs/
    # belongs to root. setpriv (util-linux) needs no passwd entry for the uid; /entrypoint adds one.
    # Not via /entrypoint's _AIRFLOW_DB_MIGRATE switch: that one ignores a failed migration, and a
    # half-migrated database must stop the stack here, not later.
    exec setpriv --reuid="${AIRFLOW_UID}" --regid=0 --clear-groups \
        env HOME=/home/airflow AIRFLOW_LITE_ADMIN="${admin}" /entrypoint bash -c '
        set -e
        airflow db migrate
        if [[ "${AIRFLOW_LITE_ADMIN}" == created ]]; then
            airflow users create --role Admin \
                --username "${_AIRFLOW_WWW_USER_USERNAME}" --password "${_AIRFLOW_WWW_USER_PASSWORD}" \
                --firstname Airflow --lastname Admin --email "${_AIRFLOW_WWW_USER_EMAIL:-admin@example.com}"
        fi
        echo "airflow-lite: database migrated; admin user \"${_AIRFLOW_WWW_USER_USERNAME}\" ready (${AIRFLOW_LITE_ADMIN})"'
}

# Is the admin user of .env already in the database (every start but the first)? Then init skips
# `airflow users create`, an Airflow CLI start (~5 s on 3.3) that would only say "already exist": .env's
# user is created once, never changed, and the roles' permissions are synced by the webserver or
# api-server as it starts ([fab] update_fab_perms). A database without FAB's tables yet answers no.
admin_user_exists() {
    [[ "$(metadata_sql --set name="${_AIRFLOW_WWW_USER_USERNAME}" 2>/dev/null <<'SQL' || true
SELECT count(*) FROM ab_user WHERE username = :'name'
SQL
)" == 1 ]]
}

# Airflow 3 parses DAG files in `airflow dag-processor`, a process of its own that 3.x needs even
# for a local setup. It runs beside the scheduler, in the scheduler's container (one container and
# one Airflow start less; tasks run here too). If either process ends, the other is stopped and the
# container exits, so `restart: unless-stopped` starts both again: a dead processor never leaves a
# scheduler that looks healthy but sees no DAG changes (apache/airflow#49689).
run_scheduler_and_dag_processor() {
    /entrypoint dag-processor &
    local dag_processor=$!
    /entrypoint scheduler "$@" &
    local scheduler=$!
    # dumb-init passes `docker stop`'s SIGTERM to the whole process group, so both already have it:
    # signalling the scheduler again would make it stop waiting for its running tasks.
    local stopping=0
    trap 'stopping=1' TERM INT
    wait -n "${dag_processor}" "${scheduler}" || true  # the first to end, or a stop signal
    if (( ! stopping )); then
        kill -TERM "${dag_processor}" "${scheduler}" 2>/dev/null || true
    fi
    local status=0
    wait "${scheduler}" || status=$?
    wait "${dag_processor}" || true
    if (( ! stopping )); then
        log "the scheduler or the DAG processor ended: stopping the container so that both restart"
    fi
    exit "${status}"
}

# Airflow 3's api-server builds the task-execution API's routes (Cadwyn's versioned routers) in each
# worker on that worker's first /execution request: 4-10 s of CPU on 2 cores that the first task of
# a fresh stack would wait for. So knock on /execution once per worker as soon as the server answers.
# With more than one worker, each knock comes while the workers knocked before are still busy
# building (they accept nothing then), so it reaches another one.
warm_execution_api() {
    until curl --silent --fail --output /dev/null http://localhost:8080/api/v2/monitor/health; do
        sleep 1
    done
    for _ in $(seq "${AIRFLOW__API__WORKERS:-1}"); do
        curl --silent --output /dev/null --max-time 120 http://localhost:8080/execution/health &
        sleep 0.5
    done
    wait
}

drop_airflow2_settings
case "${1:-}" in
    init) run_init ;;
    # docker compose run --rm airflow-init backup | restore FILE [--force]: see scripts/backup.sh
    backup | restore)
        wait_for_database
        exec /opt/airflow/scripts/backup.sh "$@"
        ;;
esac
wait_for_database
if [[ "${1:-}" == retention ]]; then
    # through /entrypoint, which gives an AIRFLOW_UID without a passwd entry one (the Airflow CLI needs it)
    exec /entrypoint bash /opt/airflow/scripts/retention.sh run
fi
if (( AIRFLOW_MAJOR >= 3 )); then
    case "${1:-}" in
        webserver)
            shift
            (warm_execution_api &)  # a grandchild: dumb-init, not the api-server, reaps it
            exec /entrypoint api-server "$@"
            ;;
        scheduler) shift; run_scheduler_and_dag_processor "$@" ;;
    esac
fi
exec /entrypoint "$@"
