# Shared by scripts/entrypoint.sh, probe.sh and backup.sh (sourced, not run).

# The metadata database's URL as libpq (pg_isready, psql) takes it: without SQLAlchemy's "+psycopg2".
libpq_url() {
    local url="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}"
    printf 'postgresql://%s' "${url#*://}"
}
