#!/usr/bin/env bash
# airflow-lite start-up, run by dumb-init in every Airflow container before the official
# /entrypoint (which stays in the chain: it sets up arbitrary uids, runs the command, etc.).
#
#   entrypoint.sh init          one-shot (the airflow-init service, started as root):
#                               make the mounted folders writable for AIRFLOW_UID, create the
#                               per-installation Fernet and webserver secret keys once, then,
#                               as AIRFLOW_UID:0, wait for the database, migrate it
#                               (`airflow db migrate`) and create the admin user from .env.
#   entrypoint.sh backup | restore FILE [--force]
#                               backup and restore of the databases and keys (scripts/backup.sh).
#   entrypoint.sh <anything>    wait for the database, then hand over to /entrypoint, so
#                               `webserver`, `scheduler`, `airflow db upgrade`, `bash` ... work
#                               as with the official image.
#
# What the containers rely on: only what the official images ship (checked against the
# apache/airflow Dockerfile and docker-stack changelog, which dropped its su helper in 2.8.3).
#   apache/airflow: bash, coreutils, findutils, util-linux's `setpriv` (Essential packages),
#                   `pg_isready` (postgresql-client), curl (healthchecks), python, dumb-init,
#                   /entrypoint. Not git, wget or ps, and no su helper but setpriv.
#   postgres:       pg_isready, psql.      redis: redis-cli.
set -euo pipefail

SECRETS_DIR="${AIRFLOW_LITE_SECRETS_DIR:-/opt/airflow/secrets}"
DB_WAIT_SECONDS="${AIRFLOW_LITE_DB_WAIT_SECONDS:-60}"

log() { printf 'airflow-lite: %s\n' "$*" >&2; }

# pg_isready answers in milliseconds; the official check (`airflow db check`) costs a full
# Airflow CLI start (3-5 s) in every container, so the compose file turns that one off.
wait_for_database() {
    local url="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}"
    if [[ "${url}" != postgres* ]]; then
        log "metadata database is not Postgres (${url%%:*}): not waiting for it"
        return 0
    fi
    url="postgresql://${url#*://}"   # libpq does not know SQLAlchemy's "+psycopg2" driver suffix
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
    wait_for_database
    # Run through the official /entrypoint, as AIRFLOW_UID:0 so nothing Airflow writes under logs/
    # belongs to root. setpriv (util-linux) needs no passwd entry for the uid; /entrypoint adds one.
    # Not via /entrypoint's _AIRFLOW_DB_MIGRATE switch: that one ignores a failed migration, and a
    # half-migrated database must stop the stack here, not later.
    # `users create` is idempotent: a repeat says "already exist" and succeeds.
    exec setpriv --reuid="${AIRFLOW_UID}" --regid=0 --clear-groups \
        env HOME=/home/airflow /entrypoint bash -c '
        set -e
        airflow db migrate
        airflow users create --role Admin \
            --username "${_AIRFLOW_WWW_USER_USERNAME}" --password "${_AIRFLOW_WWW_USER_PASSWORD}" \
            --firstname Airflow --lastname Admin --email "${_AIRFLOW_WWW_USER_EMAIL:-admin@example.com}"
        echo "airflow-lite: database migrated; admin user \"${_AIRFLOW_WWW_USER_USERNAME}\" ready"'
}

case "${1:-}" in
    init) run_init ;;
    # docker compose run --rm airflow-init backup | restore FILE [--force]: see scripts/backup.sh
    backup | restore)
        wait_for_database
        exec /opt/airflow/scripts/backup.sh "$@"
        ;;
esac
wait_for_database
exec /entrypoint "$@"
