# scripts/retention.sh's loop with a 1-minute interval, in a one-off container of the retention service
# started beside each shared stack (tests/stack/conftest.py, which sets the interval and a data folder
# of its own); test_retention.py's test_passes_repeat_every_interval reads what this printed. A download
# past its window (7 days) after the first pass must be deleted by the next pass, without a restart.
# (A minute past the window: the container's healthcheck, which allows two passes more, must not restart it.)
path="${TAXI_DATA_DIR:?}/fhv/fhv_tripdata_2019-01.csv.gz"

timeout 100 /opt/airflow/scripts/retention.sh run &
sleep 15  # past the first pass
mkdir -p "$(dirname "${path}")" && echo x >"${path}"
touch -d "@$(( $(date +%s) - 7 * 86400 - 60 ))" "${path}"
for second in $(seq 75); do
    [[ -e "${path}" ]] || { echo "deleted after ${second} s"; exit 0; }
    sleep 1
done
echo "not deleted by the next pass"; exit 1
