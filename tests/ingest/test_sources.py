import datetime as dt

import pytest

from taxi_ingest.errors import BadInputError, SchemaError
from taxi_ingest.schemas import FHV, GREEN, YELLOW, arrow_schema, schema_for
from taxi_ingest.sources import (
    DEFAULT_URL_TEMPLATE,
    file_format,
    month_in_name,
    parse_month,
    render_url,
)


def test_default_template_renders_the_course_mirror_url():
    assert render_url(DEFAULT_URL_TEMPLATE, "green", "2019-03") == (
        "https://github.com/DataTalksClub/nyc-tlc-data/releases/download/green/green_tripdata_2019-03.csv.gz"
    )


def test_template_placeholders_are_zero_padded():
    assert render_url("http://x/{year}/{month}/{taxi}.parquet", "fhv", dt.date(2020, 7, 15)) == (
        "http://x/2020/07/fhv.parquet"
    )


@pytest.mark.parametrize("template", ["http://x/{day}.csv.gz", "http://x/{0}.csv.gz", "http://x/{taxi.csv.gz"])
def test_bad_template_is_refused(template):
    with pytest.raises(BadInputError, match="URL template"):
        render_url(template, "yellow", "2021-01")


@pytest.mark.parametrize("month", ["2021-13", "2021-1", "21-01", "2021/01", "", "2021-00", "january"])
def test_bad_month_is_refused(month):
    with pytest.raises(BadInputError, match="YYYY-MM"):
        parse_month(month)


def test_month_parsing():
    assert parse_month("2021-01") == dt.date(2021, 1, 1)
    assert parse_month(" 2019-12 ") == dt.date(2019, 12, 1)


def test_unknown_taxi_type():
    with pytest.raises(BadInputError, match="unknown taxi type 'blue'"):
        render_url(DEFAULT_URL_TEMPLATE, "blue", "2021-01")


@pytest.mark.parametrize(
    "name, fmt",
    [("a/yellow_tripdata_2021-01.csv.gz", "csv.gz"), ("https://h/x.parquet?sig=1", "parquet"),
     ("taxi_zone_lookup.csv", "csv"), ("X.CSV.GZ", "csv.gz")],
)
def test_format_follows_the_suffix(name, fmt):
    assert file_format(name) == fmt


def test_unknown_suffix_is_refused():
    with pytest.raises(BadInputError, match="file format"):
        file_format("https://h/yellow_tripdata_2021-01.zip")


def test_month_in_name():
    assert month_in_name("https://h/d/fhv_tripdata_2019-02.parquet") == dt.date(2019, 2, 1)
    assert month_in_name("taxi_zone_lookup.csv") is None


def test_header_mapping_is_case_insensitive_and_partial():
    header = ["vendorid", "TPEP_PICKUP_DATETIME", "tpep_dropoff_datetime", "Airport_fee"]
    assert YELLOW.map_header(header) == [
        "VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "airport_fee"]
    # fhv 2019 CSV spelling vs the canonical parquet spelling
    assert FHV.map_header(["pickup_datetime", "dropoff_datetime", "PULocationID"]) == [
        "pickup_datetime", "dropOff_datetime", "PUlocationID"]


def test_unknown_column_is_named():
    with pytest.raises(SchemaError, match="'cbd_fee'"):
        YELLOW.map_header(["tpep_pickup_datetime", "tpep_dropoff_datetime", "cbd_fee"])


def test_green_file_is_not_yellow():
    with pytest.raises(SchemaError, match="lpep_pickup_datetime"):
        YELLOW.map_header(GREEN.names)


def test_missing_required_column_is_named():
    with pytest.raises(SchemaError, match="tpep_dropoff_datetime"):
        YELLOW.map_header(["tpep_pickup_datetime", "VendorID"])


def test_duplicate_column_is_refused():
    with pytest.raises(SchemaError, match="more than once"):
        YELLOW.map_header(["tpep_pickup_datetime", "tpep_dropoff_datetime", "VendorID", "vendorID"])


def test_canonical_columns_cover_2019_2024():
    assert "airport_fee" in YELLOW.names and "congestion_surcharge" in YELLOW.names
    assert {"ehail_fee", "trip_type", "lpep_pickup_datetime"} <= set(GREEN.names)
    assert FHV.names == ["dispatching_base_num", "pickup_datetime", "dropOff_datetime", "PUlocationID",
                         "DOlocationID", "SR_Flag", "Affiliated_base_number"]
    assert str(arrow_schema("yellow").field("tpep_pickup_datetime").type) == "timestamp[us]"
    assert str(arrow_schema("fhv").field("SR_Flag").type) == "string"
    assert schema_for("zones").table == "taxi_zone_lookup"
