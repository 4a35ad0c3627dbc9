"""The DAG check on the course-style corpus (tests/dag_check/course_dags/) and on our own dags/.

The table says, per corpus file, whether it loads as is on the shipped Airflow 2.11.2 with the image's
providers (the host test venv has the same versions), whether it loads as is on Airflow 3.3.2 (checked
for real in test_course_dags_on_airflow3.py), and exactly which rules the check reports with
--target 3.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from dag_check import cli, ruff_air3

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).with_name("course_dags")


@dataclass(frozen=True)
class Case:
    dag_id: str | None  # None: a helper module, not a DAG
    loads_on_2: bool
    loads_on_3: bool
    rules: frozenset[str]  # everything `--target 3` reports for the file as written


CASES = {
    "data_ingestion_local.py": Case("LocalIngestionDag", True, False,
                                    frozenset({"AIR301", "AIR311", "AIR312", "DC103", "DC104"})),
    "ingest_script.py": Case(None, True, True, frozenset({"DC105"})),
    # the course's example as written (dags/ ships it with schedule=)
    "local_ingestion_dag_v2.py": Case("LocalIngestionDagv2", True, False,
                                      frozenset({"AIR301", "AIR311", "AIR312"})),
    "data_ingestion_gcs_dag.py": Case("data_ingestion_gcs_dag", False, False,
                                      frozenset({"DC101", "DC102", "AIR301", "AIR311", "AIR312"})),
    "hello_context_dag.py": Case("hello_context_dag", True, False,
                                 frozenset({"DC102", "DC105", "DC106", "DC107",
                                            "AIR301", "AIR311", "AIR312"})),
    "postgres_table_dag.py": Case("postgres_create_zones_table", False, False,
                                  frozenset({"DC101", "AIR301", "AIR311"})),
}
# Rules whose findings fail on 2.11.2 (the rest fail on Airflow 3 or are warnings).
BREAKS_NOW = {"DC100", "DC101"}


def rules_by_file(findings) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for file, _, rule, _ in findings:
        out.setdefault(Path(file).name, set()).add(rule)
    return out


def test_the_table_covers_every_corpus_file():
    assert {p.name for p in CORPUS.glob("*.py")} == set(CASES)


def test_each_course_dag_loads_on_2_11_2_or_the_check_flags_it(dag_check, load_dags):
    bag = load_dags(CORPUS)
    result = dag_check("--target", "3", ".", cwd=CORPUS)
    assert result.returncode == 1, result.stdout + result.stderr
    reported = rules_by_file(result.findings)
    for name, case in CASES.items():
        assert reported.get(name, set()) == case.rules, name
        if case.dag_id is None:
            continue
        if case.loads_on_2:
            assert name not in bag["import_errors"]
            assert bag["dags"][case.dag_id]["file"] == name
            assert not case.rules & BREAKS_NOW, name
        else:
            assert name in bag["import_errors"], name
            assert case.rules & BREAKS_NOW, f"{name} fails to import but the check does not say so"
    # the error a new user sees in the UI, for the course's GCS DAG
    error = bag["import_errors"]["data_ingestion_gcs_dag.py"]
    assert ("cannot import name 'BigQueryCreateExternalTableOperator' from "
            "'airflow.providers.google.cloud.operators.bigquery'") in error


def test_target_2_fails_only_for_what_breaks_on_the_shipped_versions(dag_check):
    result = dag_check(".", cwd=CORPUS)
    assert result.returncode == 1
    breaking = {(Path(f).name, rule) for f, _, rule, scope in result.findings if scope.endswith("2.11.2")}
    assert breaking == {("data_ingestion_gcs_dag.py", "DC101"), ("postgres_table_dag.py", "DC101")}
    # ruff's "still works on Airflow 3" suggestions are left out at --target 2
    assert not {rule for _, _, rule, _ in result.findings} & {"AIR311", "AIR312"}


@pytest.fixture(scope="module")
def fixed_corpus(tmp_path_factory, dag_check):
    """A copy of the corpus after `--fix` (run once for the tests below): (folder, result)."""
    dest = tmp_path_factory.mktemp("fixed") / "dags"
    shutil.copytree(CORPUS, dest, ignore=shutil.ignore_patterns("__pycache__"))
    result = dag_check("--fix", ".", cwd=dest)
    return dest, result


def test_fix_makes_every_dag_load_with_the_same_tasks_and_wiring(dag_check, load_dags, fixed_corpus):
    # Baseline: the corpus as written; the DAGs that cannot import on provider 20.0.0 are loaded with
    # the removed operators stubbed, which gives the task ids and wiring their source declares.
    before = load_dags(CORPUS, stub_removed=True)
    assert before["import_errors"] == {}
    today = dt.datetime.now(dt.UTC).date()

    corpus_copy, result = fixed_corpus
    assert result.returncode == 0, result.stdout + result.stderr  # nothing left that breaks on 2.11.2
    assert "dag_check: left after --fix:" in result.stdout

    after = load_dags(corpus_copy)
    assert after["import_errors"] == {}
    wiring = {d: v["tasks"] for d, v in before["dags"].items()}
    assert {d: v["tasks"] for d, v in after["dags"].items()} == wiring
    for dag_id in before["dags"]:
        assert after["dags"][dag_id]["file"] == before["dags"][dag_id]["file"]
    # days_ago(1) became the date it gave on the day of the fix
    yesterday = today - dt.timedelta(days=1)
    assert after["dags"]["data_ingestion_gcs_dag"]["start"] == f"{yesterday}T00:00:00+00:00"

    # originals kept, byte for byte, for every changed file; unchanged files get no copy
    changed = {"data_ingestion_local.py", "data_ingestion_gcs_dag.py", "hello_context_dag.py",
               "postgres_table_dag.py", "local_ingestion_dag_v2.py"}
    assert {p.name for p in corpus_copy.glob("*.bak")} == {f"{n}.bak" for n in changed}
    for name in changed:
        assert (corpus_copy / f"{name}.bak").read_bytes() == (CORPUS / name).read_bytes()
        assert (corpus_copy / name).read_bytes() != (CORPUS / name).read_bytes()
    assert (corpus_copy / "ingest_script.py").read_bytes() == (CORPUS / "ingest_script.py").read_bytes()
    # the course's example, fixed, is the one dags/ ships (schedule_interval= -> schedule=, nothing else)
    example = "local_ingestion_dag_v2.py"
    assert (corpus_copy / example).read_bytes() == (ROOT / "dags" / example).read_bytes()

    gcs = (corpus_copy / "data_ingestion_gcs_dag.py").read_text()
    assert "BigQueryCreateExternalTableOperator" not in gcs and "days_ago" not in gcs
    assert ('    bigquery_external_table_task = BigQueryCreateTableOperator(\n'
            '        task_id="bigquery_external_table_task",\n'
            '        dataset_id=BIGQUERY_DATASET,\n'
            '        table_id="external_table",\n'
            '        table_resource={\n') in gcs

    # A second --fix finds nothing more to rewrite and keeps the first backups.
    again = dag_check("--fix", ".", cwd=corpus_copy)
    assert again.returncode == 0 and "dag_check: fixed" not in again.stdout
    assert not list(corpus_copy.glob("*.bak.*"))


def test_what_fix_cannot_rewrite_is_printed_with_the_exact_change(dag_check, fixed_corpus):
    result = dag_check("--target", "3", ".", cwd=fixed_corpus[0])
    assert result.returncode == 1
    left = {(Path(f).name, rule) for f, _, rule, scope in result.findings if scope != "warning"}
    assert left == {("ingest_script.py", "DC105")}
    assert ("ingest_script.py:9: DC105 breaks on Airflow 3: parameter execution_date of ingest_callable()"
            in result.stdout)
    assert "-> rename the parameter to logical_date and its uses in ingest_callable()" in result.stdout
    assert ('data_ingestion_local.py:24: DC103 warning: cron schedule \'0 6 2 * *\' with date templates'
            in result.stdout)


def test_an_unparseable_file_is_named_and_never_changed(dag_check, tmp_path):
    broken = tmp_path / "broken_dag.py"
    broken.write_text("from airflow import DAG\n\nwith DAG('x' as dag:\n    pass\n")
    fine = tmp_path / "fine_dag.py"
    shutil.copy(CORPUS / "hello_context_dag.py", fine)
    result = dag_check("--fix", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "dag_check: error: broken_dag.py:3: cannot parse" in result.stderr
    assert "(not checked, not changed)" in result.stderr
    assert broken.read_text() == "from airflow import DAG\n\nwith DAG('x' as dag:\n    pass\n"
    assert not (tmp_path / "broken_dag.py.bak").exists()
    assert (tmp_path / "fine_dag.py.bak").exists()  # the other files are still checked and fixed


def test_usage_errors_exit_2(dag_check, tmp_path):
    missing = dag_check("no-such-folder", cwd=tmp_path)
    assert missing.returncode == 2 and "no such file or directory: no-such-folder" in missing.stderr
    empty = dag_check(".", cwd=tmp_path)
    assert empty.returncode == 2 and "no .py files" in empty.stderr
    assert dag_check("--target", "4", ".", cwd=tmp_path).returncode == 2


def test_our_dags_break_nothing_on_either_major_and_the_verbatim_example_only_on_airflow_3(dag_check):
    for target in ("2", "3"):
        ours = dag_check("--target", target, "dags", cwd=ROOT)
        assert ours.returncode == 0, ours.stdout + ours.stderr
        assert not [f for f in ours.findings if f[3].startswith("breaks")], ours.findings
    example = "tests/dag_check/course_dags/local_ingestion_dag_v2.py"
    assert dag_check("--target", "2", example, cwd=ROOT).returncode == 0
    later = dag_check("--target", "3", example, cwd=ROOT)
    assert later.returncode == 1
    breaking = {(f, rule) for f, _, rule, scope in later.findings if scope == "breaks on Airflow 3"}
    assert breaking == {(example, "AIR301")}  # schedule_interval


def test_without_ruff_the_own_rules_still_run_and_say_so(monkeypatch, capsys):
    def no_ruff():
        raise ruff_air3.RuffUnavailable("ruff is not installed here (pip install 'ruff>=0.11.6')")

    monkeypatch.setattr(ruff_air3, "find_ruff", no_ruff)
    code = cli.main(["--target", "3", str(CORPUS / "data_ingestion_gcs_dag.py")])
    out = capsys.readouterr()
    assert code == 1
    assert "DC101 breaks on Airflow 2.11.2" in out.out and "DC102 breaks on Airflow 3" in out.out
    assert "AIR301" not in out.out
    assert "ruff's Airflow 3 rules (AIR3) did not run: ruff is not installed here" in out.err
