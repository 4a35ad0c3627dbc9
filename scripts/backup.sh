#!/usr/bin/env bash
# Backup and restore of one installation, run in the airflow-init container (root, with the
# database URLs, the airflow-secrets volume and ./backups mounted at /opt/airflow/backups):
#
#   docker compose run --rm airflow-init backup
#       writes backups/airflow-lite-<UTC time>.tar (mode 600: it holds the keys): the metadata
#       database, the taxi database (if created yet) and the generated keys, with a manifest.
#   docker compose stop webserver scheduler triggerer retention
#   docker compose run --rm airflow-init restore backups/<file>.tar [--force]
#   docker compose up -d
#       checks the whole file first (manifest, checksums, readable dumps); refuses a stack that
#       already has data unless --force; restores each database into a new one and swaps it in
#       only when complete, so a failure leaves the current data as it was.
#
# pg_dump/pg_restore/psql come with the image (postgresql-client); tar and sha256sum are Essential.
set -euo pipefail
umask 077

FORMAT="airflow-lite-backup 1"
BACKUP_DIR="${AIRFLOW_LITE_BACKUP_DIR:-/opt/airflow/backups}"
SECRETS_DIR="${AIRFLOW_LITE_SECRETS_DIR:-/opt/airflow/secrets}"
KEYS=(fernet_key secret_key jwt_secret)
# Backups taken before airflow-init generated the JWT secret (Airflow 3's) do not have it: a restore
# keeps the installation's own.
OPTIONAL_KEYS=" jwt_secret "

log() { printf 'airflow-lite: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # libpq_url
# libpq URLs from the ones compose builds
META_URL="$(libpq_url)"
TAXI_URL="${AIRFLOW_CONN_NY_TAXI_POSTGRES:?AIRFLOW_CONN_NY_TAXI_POSTGRES is not set}"
META_DB="${META_URL##*/}"
TAXI_DB="${TAXI_URL##*/}"
ADMIN_URL="${META_URL%/*}/postgres"   # the server's maintenance database

sql() {  # sql DB_URL QUERY: one value, unaligned
    psql --no-psqlrc --quiet --tuples-only --no-align --set ON_ERROR_STOP=1 --dbname="$1" --command="$2"
}

db_exists() {
    [[ "$(sql "${ADMIN_URL}" "SELECT count(*) FROM pg_database WHERE datname = '$1'")" == 1 ]]
}

WORK=""
cleanup() { [[ -n "${WORK}" ]] && rm -rf "${WORK}"; }
trap cleanup EXIT

backup() {
    mkdir -p "${BACKUP_DIR}"
    WORK="$(mktemp -d "${BACKUP_DIR}/.backup-XXXXXX")"
    local name
    name="airflow-lite-$(date -u +%Y%m%dT%H%M%SZ).tar"
    pg_dump --format=custom --dbname="${META_URL}" --file="${WORK}/metadata.pgdump"
    local taxi=none
    if db_exists "${TAXI_DB}"; then
        pg_dump --format=custom --dbname="${TAXI_URL}" --file="${WORK}/taxi.pgdump"
        taxi="${TAXI_DB}"
    fi
    mkdir "${WORK}/secrets"
    local key
    for key in "${KEYS[@]}"; do
        [[ -s "${SECRETS_DIR}/${key}" ]] || die "${SECRETS_DIR}/${key} is missing: has airflow-init ever run?"
        cp "${SECRETS_DIR}/${key}" "${WORK}/secrets/${key}"
    done
    {
        echo "${FORMAT}"
        echo "created $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "airflow_version $(airflow_version)"
        echo "metadata_db ${META_DB}"
        echo "taxi_db ${taxi}"
    } >"${WORK}/MANIFEST"
    (cd "${WORK}" && find . -type f ! -name SHA256SUMS -printf '%P\n' | sort | xargs sha256sum >SHA256SUMS)
    tar --create --file="${WORK}/${name}" --directory="${WORK}" --exclude="${name}" \
        MANIFEST SHA256SUMS metadata.pgdump secrets $([[ "${taxi}" != none ]] && echo taxi.pgdump)
    chmod 600 "${WORK}/${name}"
    chown "${AIRFLOW_UID:-50000}:0" "${WORK}/${name}"
    mv "${WORK}/${name}" "${BACKUP_DIR}/${name}"
    log "backup written: backups/${name} ($(du -h "${BACKUP_DIR}/${name}" | cut -f1); metadata database" \
        "${META_DB}, taxi database ${taxi}, keys). It holds secrets: keep it private."
}

airflow_version() {
    python -c 'import importlib.metadata as m; print(m.version("apache-airflow"))' 2>/dev/null || echo unknown
}

# Everything is checked before the databases are touched.
validate() {
    local file="$1"
    [[ -f "${file}" ]] || die "no such file: ${file} (backups are in backups/, e.g. backups/airflow-lite-....tar)"
    WORK="$(mktemp -d /tmp/restore-XXXXXX)"
    tar --extract --file="${file}" --directory="${WORK}" 2>/dev/null \
        || die "${file} is not an airflow-lite backup (not a readable tar file); nothing was changed"
    [[ -f "${WORK}/MANIFEST" && "$(head -n1 "${WORK}/MANIFEST")" == "${FORMAT}" ]] \
        || die "${file} is not an airflow-lite backup (no '${FORMAT}' manifest); nothing was changed"
    (cd "${WORK}" && sha256sum --quiet --strict --check SHA256SUMS >/dev/null 2>&1) \
        || die "${file} is corrupt (checksums do not match its manifest); nothing was changed"
    local key dump
    for key in "${KEYS[@]}"; do
        [[ -s "${WORK}/secrets/${key}" || "${OPTIONAL_KEYS}" == *" ${key} "* ]] \
            || die "${file} lacks the key ${key}; nothing was changed"
    done
    for dump in "${WORK}"/*.pgdump; do
        pg_restore --list "${dump}" >/dev/null 2>&1 \
            || die "${file}: $(basename "${dump}") is not a readable database dump; nothing was changed"
    done
    [[ -f "${WORK}/metadata.pgdump" ]] || die "${file} has no metadata database dump; nothing was changed"
}

# What a fresh stack (`down -v`, `up -d`) has: the migrated schema and the one admin user.
existing_data() {
    local found=()
    local runs conns vars users
    if [[ "$(sql "${META_URL}" "SELECT to_regclass('dag_run') IS NOT NULL")" == t ]]; then
        runs="$(sql "${META_URL}" "SELECT count(*) FROM dag_run")"
        conns="$(sql "${META_URL}" "SELECT count(*) FROM connection")"
        vars="$(sql "${META_URL}" "SELECT count(*) FROM variable")"
        users="$(sql "${META_URL}" "SELECT count(*) FROM ab_user")"
        ((runs > 0)) && found+=("${runs} DAG runs")
        ((conns > 0)) && found+=("${conns} connections")
        ((vars > 0)) && found+=("${vars} variables")
        ((users > 1)) && found+=("${users} users")
    fi
    db_exists "${TAXI_DB}" && found+=("the taxi database ${TAXI_DB}")
    local IFS=,
    echo "${found[*]}"
}

# Restore into <db>_restoring, then swap names: the current database stays until the copy is complete.
restore_db() {
    local dump="$1" db="$2" owner="$3"
    local tmp="${db}_restoring"
    sql "${ADMIN_URL}" "DROP DATABASE IF EXISTS \"${tmp}\"" >/dev/null
    sql "${ADMIN_URL}" "CREATE DATABASE \"${tmp}\" OWNER \"${owner}\"" >/dev/null
    if ! pg_restore --exit-on-error --no-owner --dbname="${META_URL%/*}/${tmp}" "${dump}"; then
        sql "${ADMIN_URL}" "DROP DATABASE IF EXISTS \"${META_DB}_restoring\"" >/dev/null
        sql "${ADMIN_URL}" "DROP DATABASE IF EXISTS \"${TAXI_DB}_restoring\"" >/dev/null
        die "restoring ${db} failed (see above); the current database is unchanged"
    fi
}

swap_db() {
    local db="$1"
    sql "${ADMIN_URL}" "DROP DATABASE IF EXISTS \"${db}\" WITH (FORCE)" >/dev/null
    sql "${ADMIN_URL}" "ALTER DATABASE \"${db}_restoring\" RENAME TO \"${db}\"" >/dev/null
}

restore() {
    local file="" force=0 arg
    for arg in "$@"; do
        case "${arg}" in
            --force) force=1 ;;
            -*) die "unknown option ${arg} (usage: restore FILE [--force])" ;;
            *) file="${arg}" ;;
        esac
    done
    [[ -n "${file}" ]] || die "usage: docker compose run --rm airflow-init restore backups/FILE.tar [--force]"
    validate "${file}"
    local saved_meta saved_taxi
    saved_meta="$(sed -n 's/^metadata_db //p' "${WORK}/MANIFEST")"
    saved_taxi="$(sed -n 's/^taxi_db //p' "${WORK}/MANIFEST")"
    log "restoring $(sed -n 's/^created //p' "${WORK}/MANIFEST") backup (Airflow" \
        "$(sed -n 's/^airflow_version //p' "${WORK}/MANIFEST"), metadata database ${saved_meta}," \
        "taxi database ${saved_taxi}) into ${META_DB} / ${TAXI_DB}"

    local others
    others="$(sql "${ADMIN_URL}" "SELECT count(*) FROM pg_stat_activity WHERE datname IN ('${META_DB}', '${TAXI_DB}') AND pid <> pg_backend_pid()")"
    ((others == 0)) || die "${others} connections to the databases are open: stop the components first" \
        "(docker compose stop webserver scheduler triggerer retention; with Celery also airflow-worker flower); nothing was changed"
    local found
    found="$(existing_data)"
    if [[ -n "${found}" && ${force} == 0 ]]; then
        die "this stack already has data (${found}); a restore replaces all of it." \
            "Back it up first (backup), then add --force to replace it; nothing was changed"
    fi

    local owner="${META_URL#postgresql://}"
    owner="${owner%%:*}"
    restore_db "${WORK}/metadata.pgdump" "${META_DB}" "${owner}"
    if [[ -f "${WORK}/taxi.pgdump" ]]; then
        restore_db "${WORK}/taxi.pgdump" "${TAXI_DB}" "${owner}"
    fi
    swap_db "${META_DB}"
    if [[ -f "${WORK}/taxi.pgdump" ]]; then
        swap_db "${TAXI_DB}"
    elif db_exists "${TAXI_DB}"; then
        sql "${ADMIN_URL}" "DROP DATABASE \"${TAXI_DB}\" WITH (FORCE)" >/dev/null   # not in the backup
    fi
    local key
    for key in "${KEYS[@]}"; do
        [[ -s "${WORK}/secrets/${key}" ]] || continue  # an optional key the backup predates
        install -m 0440 -o "${AIRFLOW_UID:-50000}" -g 0 "${WORK}/secrets/${key}" "${SECRETS_DIR}/${key}.tmp"
        mv "${SECRETS_DIR}/${key}.tmp" "${SECRETS_DIR}/${key}"
    done
    log "restored ${file}: now start the components (docker compose up -d)"
}

case "${1:-}" in
    backup) backup ;;
    restore) shift; restore "$@" ;;
    *) die "usage: backup | restore FILE [--force]" ;;
esac
