"""Loaded by every Airflow process at start (Airflow imports it from $AIRFLOW_HOME/config).

A forked child must never use the database connections its parent had pooled: both would talk over
one socket. Airflow 2.11's scheduler forks its health-check server (and its log server) after its
pool already holds a connection, so a /health request at the wrong moment steals the reply to the
scheduler's own query and the scheduler hangs at start ("idle in transaction", /health 503 for
ever). SQLAlchemy's documented remedy: give the child a fresh pool without closing the parent's
connections (https://docs.sqlalchemy.org/en/20/core/pooling.html#using-connection-pools-with-multiprocessing-or-os-fork).
"""

import os

__all__: list[str] = []  # nothing here overrides Airflow's settings


def _fresh_connection_pool_in_child() -> None:
    from airflow import settings

    if getattr(settings, "engine", None) is not None:
        settings.engine.dispose(close=False)


os.register_at_fork(after_in_child=_fresh_connection_pool_in_child)
