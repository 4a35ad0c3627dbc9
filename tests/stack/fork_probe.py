"""Run inside an Airflow container (python - < this file): which database connection does a forked
child get? Prints the Postgres backend pid of the parent's pooled connection, of the child's, and of
the parent's after the child has used the database."""

import os

from airflow import settings
from sqlalchemy import text


def backend_pid() -> int:
    with settings.engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar()


parent = backend_pid()  # now pooled, as in the scheduler when it forks its health-check server
read_end, write_end = os.pipe()
child = os.fork()
if child == 0:
    os.write(write_end, str(backend_pid()).encode())
    os._exit(0)
os.waitpid(child, 0)
print(f"parent={parent} child={int(os.read(read_end, 64))} parent_after={backend_pid()}")
