"""The local BigQuery REST fake of the host-side tests (support.gcp_fakes.FakeBigQuery), served inside
the compose test stack so the scheduler's BigQuery client can reach it (BIGQUERY_EMULATOR_HOST).

    python bigquery_fake_service.py PORT PROJECT.DATASET [...]

LocalServer.start() binds 127.0.0.1 (right for host tests, unreachable from other containers), so the
same handler is served here on 0.0.0.0. Tables live in memory; GET .../tables/ID returns what was
inserted (plus the fake's kind/id/etag/type), which the in-stack tests read back.
"""

import sys
from http.server import ThreadingHTTPServer

from support.gcp_fakes import FakeBigQuery


def main() -> None:
    port, datasets = int(sys.argv[1]), set(sys.argv[2:])
    fake = FakeBigQuery(datasets=datasets)
    handler = type("Handler", (fake.handler_cls,), {"owner": fake})
    ThreadingHTTPServer(("0.0.0.0", port), handler).serve_forever()


if __name__ == "__main__":
    main()
