"""Classes the shipped providers removed (and DummyOperator, which Airflow 3 removed), with rewrites.

A course DAG that imports one of these fails with ImportError when the file is parsed. Each entry says
where the class went and how a call maps onto the replacement. A call is rewritten only when the
mapping is exact (keyword arguments only, none that the replacement lacks); otherwise the finding
prints the change to make by hand. Renames are all-or-nothing per file and class: the import is only
rewritten when every use of the class is.

Longer than the package's other modules (~300 lines) on purpose: each removed class has its own exact
call mapping, and they share the keyword and import handling; split up, the one table of renames
would be scattered.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from dag_check.source import BREAKS_NOW, BREAKS_ON_3, Edit, Finding, Source

BIGQUERY = "airflow.providers.google.cloud.operators.bigquery"


@dataclass(frozen=True)
class CallFix:
    edits: list[Edit]
    shown: str  # the rewritten call's head, for the message


# A call fixer returns a CallFix, or a string: why the call is not rewritten.
CallFixer = Callable[[Source, ast.Call], "CallFix | str"]


@dataclass(frozen=True)
class Removed:
    rule: str
    modules: tuple[str, ...]
    name: str
    breaks: str
    why: str  # "removed in apache-airflow-providers-google 17.0.0"
    package: str | None  # distribution whose installed version the message shows
    new_module: str
    new_name: str
    fix_call: CallFixer
    hint: str  # the change to make by hand when a call is not rewritten


def _keywords(call: ast.Call) -> dict[str, ast.keyword] | str:
    if call.args:
        return "positional arguments"
    if any(k.arg is None for k in call.keywords):
        return "**kwargs in the call"
    return {k.arg: k for k in call.keywords}


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) for n in ast.walk(node))


def _dict_get(node: ast.AST, key: str) -> ast.AST | None:
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values, strict=True):
            if isinstance(k, ast.Constant) and k.value == key:
                return v
    return None


def _insert_before(src: Source, kw: ast.keyword, args: list[str]) -> Edit:
    """New keyword arguments in front of `kw`, one per line when `kw` starts its own line."""
    start = src.offset(kw.lineno, kw.col_offset)
    before = src.lines[kw.lineno - 1][: start - src.offset(kw.lineno, 0)]
    if before.strip():
        text = "".join(f"{a}, " for a in args)
    else:
        text = "".join(f"{a},\n{before}" for a in args)
    return Edit(start, start, text)


def _rename_keyword(src: Source, kw: ast.keyword, new: str) -> Edit:
    start = src.offset(kw.lineno, kw.col_offset)  # a keyword's span starts at its name
    return Edit(start, start + len(kw.arg), new)


# BigQueryCreateExternalTableOperator's own parameters that BigQueryCreateTableOperator does not take.
_EXTERNAL_ONLY = {
    "bucket", "source_objects", "destination_project_dataset_table", "schema_fields", "schema_object",
    "gcs_schema_bucket", "source_format", "autodetect", "compression", "skip_leading_rows",
    "field_delimiter", "max_bad_records", "quote_character", "allow_quoted_newlines", "allow_jagged_rows",
    "src_fmt_configs", "labels", "encryption_configuration", "bigquery_conn_id",
}
_EMPTY_ONLY = {
    "time_partitioning", "cluster_fields", "labels", "view", "materialized_view",
    "encryption_configuration", "exists_ok", "bigquery_conn_id",
}


def _not_rewritable(kws: dict | str, not_taken: set[str]) -> str | None:
    """Why a BigQuery create-table call cannot become BigQueryCreateTableOperator, or None."""
    if isinstance(kws, str):
        return kws
    if used := sorted(not_taken & kws.keys()):
        return f"uses {', '.join(used)}, which BigQueryCreateTableOperator does not take"
    return None


def _fix_external_table(src: Source, call: ast.Call) -> CallFix | str:
    kws = _keywords(call)
    if why := _not_rewritable(kws, _EXTERNAL_ONLY):
        return why
    if "dataset_id" in kws or "table_id" in kws:
        return "already passes dataset_id/table_id"
    resource = kws.get("table_resource")
    if resource is None:
        return "no table_resource"
    ref = _dict_get(resource.value, "tableReference")
    dataset, table = _dict_get(ref, "datasetId"), _dict_get(ref, "tableId")
    if dataset is None or table is None:
        return "table_resource has no literal tableReference with datasetId and tableId"
    if _has_call(dataset) or _has_call(table):
        return "datasetId/tableId are computed by a call (it would run twice)"
    args = [f"dataset_id={src.segment(dataset)}", f"table_id={src.segment(table)}"]
    return CallFix([_insert_before(src, resource, args)],
                   f"BigQueryCreateTableOperator({', '.join(args)}, table_resource=...)")


def _fix_empty_table(src: Source, call: ast.Call) -> CallFix | str:
    kws = _keywords(call)
    if why := _not_rewritable(kws, _EMPTY_ONLY):
        return why
    if "dataset_id" not in kws or "table_id" not in kws:
        return "dataset_id/table_id are not both given"
    schema = kws.get("schema_fields")
    if schema is not None and "table_resource" in kws:
        return "passes both schema_fields and table_resource"
    if schema is not None:  # schema_fields=X is table_resource={"schema": {"fields": X}}
        start, end = src.span(schema)
        fields = src.segment(schema.value)
        return CallFix([Edit(start, end, f'table_resource={{"schema": {{"fields": {fields}}}}}')],
                       'BigQueryCreateTableOperator(..., table_resource={"schema": {"fields": ...}})')
    if "table_resource" not in kws:
        # an empty resource: the hook builds the tableReference from the ids
        end = src.span(kws["table_id"])[1]
        return CallFix([Edit(end, end, ", table_resource={}")],
                       "BigQueryCreateTableOperator(..., table_resource={})")
    return CallFix([], "BigQueryCreateTableOperator(...)")


def _fix_postgres(src: Source, call: ast.Call) -> CallFix | str:
    kws = _keywords(call)
    if isinstance(kws, str):
        return kws
    if "runtime_parameters" in kws:
        return "uses runtime_parameters (pass them as hook_params={'options': ...} yourself)"
    if "postgres_conn_id" in kws:
        return CallFix([_rename_keyword(src, kws["postgres_conn_id"], "conn_id")],
                       "SQLExecuteQueryOperator(conn_id=..., ...)")
    # PostgresOperator's default connection; SQLExecuteQueryOperator has none.
    first = call.keywords[0] if call.keywords else None
    if first is None:
        return "no arguments"
    return CallFix([_insert_before(src, first, ['conn_id="postgres_default"'])],
                   'SQLExecuteQueryOperator(conn_id="postgres_default", ...)')


def _same_signature(src: Source, call: ast.Call) -> CallFix:
    return CallFix([], "")


REMOVED = (
    Removed("DC101", (BIGQUERY,), "BigQueryCreateExternalTableOperator", BREAKS_NOW,
            "removed in apache-airflow-providers-google 17.0.0", "apache-airflow-providers-google",
            BIGQUERY, "BigQueryCreateTableOperator", _fix_external_table,
            "BigQueryCreateTableOperator(task_id=..., dataset_id=..., table_id=..., table_resource={...}) "
            "with the table definition in table_resource (REST API Table resource)"),
    Removed("DC101", (BIGQUERY,), "BigQueryCreateEmptyTableOperator", BREAKS_NOW,
            "removed in apache-airflow-providers-google 17.0.0", "apache-airflow-providers-google",
            BIGQUERY, "BigQueryCreateTableOperator", _fix_empty_table,
            "BigQueryCreateTableOperator(task_id=..., dataset_id=..., table_id=..., "
            "table_resource={\"schema\": {\"fields\": ...}, ...})"),
    Removed("DC101", (BIGQUERY,), "BigQueryExecuteQueryOperator", BREAKS_NOW,
            "removed from apache-airflow-providers-google", "apache-airflow-providers-google",
            BIGQUERY, "BigQueryInsertJobOperator", lambda src, call: "the job configuration differs",
            "BigQueryInsertJobOperator(task_id=..., configuration={\"query\": {\"query\": <sql>, "
            "\"useLegacySql\": False}})"),
    Removed("DC101", ("airflow.providers.postgres.operators.postgres",), "PostgresOperator", BREAKS_NOW,
            "removed in apache-airflow-providers-postgres 6.0.0", "apache-airflow-providers-postgres",
            "airflow.providers.common.sql.operators.sql", "SQLExecuteQueryOperator", _fix_postgres,
            "SQLExecuteQueryOperator(task_id=..., conn_id=<postgres_conn_id>, sql=...)"),
    # Still importable on 2.11.2 (deprecated); gone from Airflow 3. EmptyOperator is the same class
    # under its new name and imports from airflow.operators.empty on both.
    Removed("DC107", ("airflow.operators.dummy", "airflow.operators.dummy_operator"), "DummyOperator",
            BREAKS_ON_3, "deprecated since Airflow 2.4 and removed in Airflow 3", None,
            "airflow.operators.empty", "EmptyOperator", _same_signature,
            "EmptyOperator(task_id=...) from airflow.operators.empty"),
)


def _lookup(module: str, name: str) -> Removed | None:
    for entry in REMOVED:
        if module in entry.modules and name == entry.name:
            return entry
    return None


def _installed(package: str | None) -> str:
    if not package:
        return ""
    try:
        return f" (installed here: {metadata.version(package)})"
    except metadata.PackageNotFoundError:
        return ""


def _import_edit(src: Source, imp: ast.ImportFrom, replaced: dict[str, Removed]) -> Edit | None:
    """The import statement with the replaced names moved to their new modules (one line each)."""
    original = src.segment(imp)
    if "#" in original:
        return None  # a comment inside a parenthesized import would be lost
    indent = src.indent_of(imp.lineno)
    kept = [a for a in imp.names if a.name not in replaced]
    lines = []
    if kept:
        names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in kept)
        lines.append(f"from {imp.module} import {names}")
    for a in imp.names:
        if a.name in replaced:
            entry = replaced[a.name]
            line = f"from {entry.new_module} import {entry.new_name}"
            line += f" as {a.asname}" if a.asname else ""
            if line not in lines:
                lines.append(line)
    start, end = src.span(imp)
    return Edit(start, end, ("\n" + indent).join(lines))


def check(src: Source) -> list[Finding]:
    findings: list[Finding] = []
    name_loads: dict[str, list[ast.Name]] = {}
    calls: dict[str, list[ast.Call]] = {}
    for node in ast.walk(src.tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            name_loads.setdefault(node.id, []).append(node)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls.setdefault(node.func.id, []).append(node)

    for imp in (n for n in ast.walk(src.tree) if isinstance(n, ast.ImportFrom)):
        if imp.level or not imp.module:
            continue
        replaced: dict[str, Removed] = {}
        group: list[tuple[Finding, list[Finding], Removed]] = []
        for alias in imp.names:
            entry = _lookup(imp.module, alias.name)
            if entry is None:
                continue
            local = alias.asname or alias.name
            uses = calls.get(local, [])
            call_findings, all_fixed = [], True
            other_uses = len(name_loads.get(local, [])) - len(uses)
            for call in uses:
                result = entry.fix_call(src, call)
                if isinstance(result, str):
                    all_fixed = False
                    call_findings.append(Finding(
                        src.path, call.lineno, entry.rule, entry.breaks, f"{alias.name}(...)",
                        f"{entry.hint} (not rewritten: {result})", subject=alias.name))
                else:
                    edits = list(result.edits)
                    if not alias.asname:  # the call's name changes with the import
                        start, end = src.span(call.func)
                        edits.append(Edit(start, end, entry.new_name))
                    call_findings.append(Finding(
                        src.path, call.lineno, entry.rule, entry.breaks, f"{alias.name}(...)",
                        result.shown or f"{entry.new_name}(...)", edits=edits, subject=alias.name))
            if other_uses:
                all_fixed = False
            message = (f"{alias.name} was {entry.why}{_installed(entry.package)}: "
                       f"`from {imp.module} import {alias.name}` raises ImportError")
            replacement = f"from {entry.new_module} import {entry.new_name}"
            if other_uses:
                replacement += f" (not rewritten: {alias.name} is used other than by calling it)"
            head = Finding(src.path, imp.lineno, entry.rule, entry.breaks, message, replacement,
                           subject=alias.name)
            if all_fixed:
                replaced[alias.name] = entry
            else:
                for f in call_findings:
                    f.edits = []
            group.append((head, call_findings, entry))
        edit = _import_edit(src, imp, replaced) if replaced else None
        for head, call_findings, _ in group:
            if edit is not None and head.subject in replaced:
                head.edits = [edit]
            elif head.subject in replaced:  # the import cannot be rewritten: neither can the calls
                head.replacement += " (not rewritten: comment inside the import statement)"
                for f in call_findings:
                    f.edits = []
            findings.append(head)
            findings.extend(call_findings)
    return findings
