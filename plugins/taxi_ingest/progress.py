"""Periodic progress lines on the "taxi_ingest" logger: rows so far and MB/s."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("taxi_ingest")


class Progress:
    def __init__(self, what: str, every: float = 5.0):
        self.what = what
        self.every = every
        self.start = self.last = time.monotonic()
        self.bytes = 0

    def update(self, rows: int, new_bytes: int) -> None:
        self.bytes += new_bytes
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            log.info("%s: %s rows so far, %.1f MB/s", self.what, f"{rows:,}", self._mb_per_s(now))

    def done(self, rows: int) -> None:
        now = time.monotonic()
        log.info("%s: %s rows in %.1f s (%.1f MB/s)", self.what, f"{rows:,}", now - self.start,
                 self._mb_per_s(now))

    def _mb_per_s(self, now: float) -> float:
        return self.bytes / 1e6 / max(now - self.start, 1e-6)
