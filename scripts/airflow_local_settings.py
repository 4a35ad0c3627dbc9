"""Loaded by every Airflow process at start (Airflow imports it from $AIRFLOW_HOME/config).

On Airflow 2 only, the DAGs page shows a warning that Airflow 2 is end of life, naming the upgrade
command (Airflow's own dashboard alerts, DASHBOARD_UIALERTS).

A forked child must never use the database connections its parent had pooled: both would talk over
one socket. Airflow 2.11's scheduler forks its health-check server (and its log server) after its
pool already holds a connection, so a /health request at the wrong moment steals the reply to the
scheduler's own query and the scheduler hangs at start ("idle in transaction", /health 503 for
ever). SQLAlchemy's documented remedy: give the child a fresh pool without closing the parent's
connections (https://docs.sqlalchemy.org/en/20/core/pooling.html#using-connection-pools-with-multiprocessing-or-os-fork).
"""

import os

__all__: list[str] = []  # nothing else here overrides Airflow's settings

# The image records its release (Dockerfile: AIRFLOW_LITE_AIRFLOW_VERSION).
_AIRFLOW_VERSION = os.environ.get("AIRFLOW_LITE_AIRFLOW_VERSION", "")
EOL_MESSAGE = (
    f"Airflow {_AIRFLOW_VERSION or '2'} is end of life since 2026-04-22 and gets no security fixes. "
    "Upgrade to Airflow 3.3.2 with: ./airflow-lite upgrade 3.3.2 "
    "(it checks your DAGs, backs up, and rolls back by itself if anything fails; docs/cli.md)"
)


class _DashboardAlerts(list):
    """Airflow 2's DASHBOARD_UIALERTS, filled when the webserver first reads it: UIAlert lives in
    airflow.www (Flask), which the scheduler and every task would otherwise import for nothing."""

    def __iter__(self):
        if not self:
            from airflow.www.utils import UIAlert

            self.append(UIAlert(EOL_MESSAGE, category="warning"))
        return super().__iter__()


if _AIRFLOW_VERSION.startswith("2."):
    DASHBOARD_UIALERTS = _DashboardAlerts()
    __all__.append("DASHBOARD_UIALERTS")


def _fresh_connection_pool_in_child() -> None:
    from airflow import settings

    if getattr(settings, "engine", None) is not None:
        settings.engine.dispose(close=False)


os.register_at_fork(after_in_child=_fresh_connection_pool_in_child)
