# Shared by scripts/entrypoint.sh, probe.sh, retention.sh and backup.sh (sourced, not run).

# The metadata database's URL as libpq (pg_isready, psql) takes it: without SQLAlchemy's "+psycopg2".
libpq_url() {
    local url="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}"
    printf 'postgresql://%s' "${url#*://}"
}

# metadata_sql [PSQL ARGS...] <<<QUERY: the query's rows, unaligned and without headers; fails on the
# first SQL error.
metadata_sql() {
    psql --dbname="$(libpq_url)" --no-psqlrc --quiet --tuples-only --no-align --set ON_ERROR_STOP=1 "$@"
}
