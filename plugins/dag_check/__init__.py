"""dag_check: what in a DAG file breaks on the versions this image ships (Airflow 2.11.2 and its
providers) or on Airflow 3, and rewrites what can be rewritten safely.

    python -m dag_check [--fix] [--target 2|3] [PATH ...]     (default PATH: the dags folder)

A plain library (no Airflow import at module level), listed in plugins/.airflowignore so Airflow's
plugin loader leaves it alone. One concern per module:

- ``source``:    a parsed file, positions -> text offsets, applying edits, ``.bak`` copies
- ``renames``:   classes removed by the shipped providers (and by Airflow 3) and their rewrites
- ``airflow3``:  our own Airflow 3 rules (days_ago, execution_date, provide_context, cron meaning)
- ``imports``:   imports the installed packages cannot satisfy (the DagBag's ImportError, before it)
- ``ruff_air3``: ruff's AIR3 rules, run as a subprocess when ruff is installed
- ``cli``:       walking PATHs, printing ``file:line: RULE what breaks -> replacement``, exit codes
"""
