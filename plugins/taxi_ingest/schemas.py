"""Canonical columns per taxi type: the union of the columns seen in 2019-2025 files.

One definition drives the Postgres DDL, the pyarrow schema of the parquet files and the
case-insensitive mapping of whatever header a given month's file happens to have.
"""

from __future__ import annotations

from dataclasses import dataclass

from taxi_ingest.errors import BadInputError, SchemaError

# Logical type -> Postgres type. Money and distances are numeric so sums are exact.
PG_TYPES = {"int": "integer", "num": "numeric", "ts": "timestamp", "text": "text"}

_MONEY = [
    "fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount", "improvement_surcharge",
    "total_amount", "congestion_surcharge",
]


@dataclass(frozen=True)
class TableSchema:
    name: str  # taxi type, also the table prefix
    table: str
    columns: tuple[tuple[str, str], ...]  # (canonical name, logical type)
    required: tuple[str, ...]  # a file lacking one of these is the wrong kind of file
    pickup: str | None  # timestamp used to tell which month a file holds

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def type_of(self, name: str) -> str:
        return dict(self.columns)[name]

    def map_header(self, header: list[str]) -> list[str]:
        """Canonical names for a file's header, matched case-insensitively; clear error otherwise."""
        by_lower = {name.lower(): name for name in self.names}
        mapped, unknown = [], []
        for raw in header:
            key = raw.strip().strip('"').lstrip("\ufeff").strip().lower()
            if key in by_lower:
                mapped.append(by_lower[key])
            else:
                unknown.append(raw)
        if unknown:
            shown = ", ".join(repr(u) for u in unknown[:5])
            raise SchemaError(
                f"unknown column(s) {shown} for {self.name} data "
                f"(wrong taxi type, a header line missing, or a new column?)"
            )
        dupes = sorted({m for m in mapped if mapped.count(m) > 1})
        if dupes:
            raise SchemaError(f"column(s) {', '.join(dupes)} appear more than once in the header")
        missing = [r for r in self.required if r not in mapped]
        if missing:
            raise SchemaError(f"required column(s) {', '.join(missing)} missing for {self.name} data")
        return mapped


def _trip(name: str, columns: list[tuple[str, str]], pickup: str, dropoff: str) -> TableSchema:
    return TableSchema(name, f"{name}_tripdata", tuple(columns), (pickup, dropoff), pickup)


YELLOW = _trip(
    "yellow",
    [
        ("VendorID", "int"), ("tpep_pickup_datetime", "ts"), ("tpep_dropoff_datetime", "ts"),
        ("passenger_count", "int"), ("trip_distance", "num"), ("RatecodeID", "int"),
        ("store_and_fwd_flag", "text"), ("PULocationID", "int"), ("DOLocationID", "int"),
        ("payment_type", "int"),
        *[(m, "num") for m in _MONEY],
        ("airport_fee", "num"),
        ("cbd_congestion_fee", "num"),  # from 2025
    ],
    "tpep_pickup_datetime", "tpep_dropoff_datetime",
)

GREEN = _trip(
    "green",
    [
        ("VendorID", "int"), ("lpep_pickup_datetime", "ts"), ("lpep_dropoff_datetime", "ts"),
        ("store_and_fwd_flag", "text"), ("RatecodeID", "int"), ("PULocationID", "int"),
        ("DOLocationID", "int"), ("passenger_count", "int"), ("trip_distance", "num"),
        ("fare_amount", "num"), ("extra", "num"), ("mta_tax", "num"), ("tip_amount", "num"),
        ("tolls_amount", "num"), ("ehail_fee", "num"), ("improvement_surcharge", "num"),
        ("total_amount", "num"), ("payment_type", "int"), ("trip_type", "int"),
        ("congestion_surcharge", "num"),
        ("cbd_congestion_fee", "num"),  # from 2025
    ],
    "lpep_pickup_datetime", "lpep_dropoff_datetime",
)

FHV = _trip(
    "fhv",
    [
        ("dispatching_base_num", "text"), ("pickup_datetime", "ts"), ("dropOff_datetime", "ts"),
        ("PUlocationID", "int"), ("DOlocationID", "int"), ("SR_Flag", "text"),
        ("Affiliated_base_number", "text"),
    ],
    "pickup_datetime", "dropOff_datetime",
)

ZONES = TableSchema(
    "zones", "taxi_zone_lookup",
    (("LocationID", "int"), ("Borough", "text"), ("Zone", "text"), ("service_zone", "text")),
    ("LocationID",), None,
)

TRIP_SCHEMAS = {s.name: s for s in (YELLOW, GREEN, FHV)}


def schema_for(taxi: str) -> TableSchema:
    if taxi == "zones":
        return ZONES
    try:
        return TRIP_SCHEMAS[taxi]
    except KeyError:
        raise BadInputError(
            f"unknown taxi type {taxi!r}; expected one of {', '.join(TRIP_SCHEMAS)}"
        ) from None


def int_columns(schema: TableSchema) -> set[str]:
    return {name for name, kind in schema.columns if kind == "int"}


def arrow_schema(taxi: str):
    """The canonical pyarrow schema (imported lazily: pyarrow costs ~60 MB of RSS)."""
    import pyarrow as pa

    arrow_types = {"int": pa.int32(), "num": pa.float64(), "ts": pa.timestamp("us"), "text": pa.string()}
    return pa.schema([pa.field(name, arrow_types[kind]) for name, kind in schema_for(taxi).columns])
