"""Exceptions raised by taxi_ingest: each names the problem in plain words."""


class IngestError(Exception):
    """Base class: anything wrong with the input, the source or the loaded data."""


class BadInputError(IngestError):
    """A parameter is wrong (taxi type, month, URL template, file suffix...)."""


class DownloadError(IngestError):
    """The source answered with an error or with something that is not the data we asked for."""


class NotFoundError(DownloadError):
    """HTTP 404: nothing published at that URL (yet)."""


class DiskFullError(IngestError):
    """No space left on the device the download is written to (the partial file is removed)."""


class CorruptFileError(IngestError):
    """The file is empty, truncated, not gzip/parquet, or an HTML page."""


class SchemaError(IngestError):
    """The file's columns do not fit the taxi type (unknown or missing column, bad type)."""


class WrongMonthError(IngestError):
    """The file holds another month than the one requested."""


class DataQualityError(IngestError):
    """Rows stored do not match rows read from the file."""


class GcpCredentialsError(IngestError):
    """The service-account key is missing, unreadable or not a service-account key."""


class GcpConfigError(IngestError):
    """A required setting (environment variable) of the GCS pipeline is missing or invalid."""
