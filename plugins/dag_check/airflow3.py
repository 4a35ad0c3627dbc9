"""Our own Airflow 3 rules, for what ruff's AIR3 rules do not flag or cannot fix in a way that keeps
the file working on the shipped Airflow 2.11.2 as well.

- DC102 ``days_ago(n)``: removed in Airflow 3 -> a fixed ``pendulum.datetime(...)``.
- DC103 a cron schedule with date templates: the same DAG processes another period on Airflow 3.
- DC104 template variables Airflow 3 removed (``{{ execution_date }}`` -> ``{{ logical_date }}``).
- DC105 ``execution_date`` and friends taken from the task context in Python code.
- DC106 ``provide_context=True``: ignored on 2.x, an error on Airflow 3 -> removed.

Every rewrite here is valid on 2.11.2 and on 3.x: ``logical_date`` exists since Airflow 2.2.
Slightly over 250 lines: the five rules share one walk over templates and calls.
"""

from __future__ import annotations

import ast
import datetime as dt
import re

from dag_check.source import BREAKS_ON_3, WARNING, Edit, Finding, Source

# Context/template variables Airflow 3 removed, with what to use instead.
REMOVED_CONTEXT = {
    "execution_date": "logical_date",
    "next_execution_date": "data_interval_end",
    "next_ds": "data_interval_end | ds",
    "next_ds_nodash": "data_interval_end | ds_nodash",
    "prev_execution_date": "prev_data_interval_start_success (or data_interval_start)",
    "prev_ds": "prev_data_interval_start_success | ds (or data_interval_start | ds)",
    "prev_ds_nodash": "prev_data_interval_start_success | ds_nodash",
    "prev_execution_date_success": "prev_data_interval_start_success",
    "tomorrow_ds": "macros.ds_add(ds, 1)",
    "yesterday_ds": "macros.ds_add(ds, -1)",
    "tomorrow_ds_nodash": "macros.ds_add(ds, 1) | replace('-', '')",
    "yesterday_ds_nodash": "macros.ds_add(ds, -1) | replace('-', '')",
}
_CONTEXT_WORD = re.compile(r"(?<![\w.])(" + "|".join(sorted(REMOVED_CONTEXT, key=len, reverse=True)) + r")\b")
_JINJA = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_DATE_TEMPLATE = re.compile(r"(?<![\w.])(logical_date|execution_date|ds|ds_nodash|ts|ts_nodash)\b")
_CRON = re.compile(r"^\s*\S+(\s+\S+){4,5}\s*$")
PRESETS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
           "@monthly": "0 0 1 * *", "@quarterly": "0 0 1 */3 *", "@yearly": "0 0 1 1 *",
           "@annually": "0 0 1 1 *"}


def check(src: Source, today: dt.date | None = None) -> list[Finding]:
    return [*_days_ago(src, today or dt.datetime.now(dt.UTC).date()), *_templates(src),
            *_cron_meaning(src), *_context(src), *_provide_context(src)]


# --- DC102 days_ago ---------------------------------------------------------------------------------

def _imports_pendulum(src: Source) -> bool:
    return any(isinstance(n, ast.Import) and any(a.name == "pendulum" and not a.asname for a in n.names)
               for n in src.tree.body)


def _days_ago(src: Source, today: dt.date) -> list[Finding]:
    findings = []
    for imp in (n for n in ast.walk(src.tree) if isinstance(n, ast.ImportFrom)):
        if imp.module != "airflow.utils.dates" or imp.level:
            continue
        alias = next((a for a in imp.names if a.name == "days_ago"), None)
        if alias is None:
            continue
        local = alias.asname or alias.name
        loads = [n for n in ast.walk(src.tree) if isinstance(n, ast.Name) and n.id == local
                 and isinstance(n.ctx, ast.Load)]
        calls = [n for n in ast.walk(src.tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                 and n.func.id == local]
        group = []
        for call in calls:
            n = call.args[0].value if len(call.args) == 1 and isinstance(call.args[0], ast.Constant) else None
            if isinstance(n, int) and not isinstance(n, bool) and n >= 0 and not call.keywords:
                day = today - dt.timedelta(days=n)
                new = f'pendulum.datetime({day.year}, {day.month}, {day.day}, tz="UTC")'
                group.append(Finding(
                    src.path, call.lineno, "DC102", BREAKS_ON_3,
                    f"days_ago({n}) is removed in Airflow 3 (deprecated on 2.11.2) and moves the start date "
                    "at every parse",
                    f"{new} (the date days_ago({n}) gives today), with import pendulum",
                    edits=[Edit(*src.span(call), new)], subject="days_ago"))
            else:
                group.append(Finding(
                    src.path, call.lineno, "DC102", BREAKS_ON_3, "days_ago(...) is removed in Airflow 3",
                    'a fixed date: pendulum.datetime(YYYY, M, D, tz="UTC")', subject="days_ago"))
        if len(loads) != len(calls) or any(not f.edits for f in group):
            for f in group:
                f.edits = []  # all or nothing: the import goes only when no use is left
        elif group:
            group[0].edits.append(_drop_days_ago_import(src, imp, needs_pendulum=not _imports_pendulum(src)))
        findings.extend(group)
    return findings


def _drop_days_ago_import(src: Source, imp: ast.ImportFrom, needs_pendulum: bool) -> Edit:
    kept = [a for a in imp.names if a.name != "days_ago"]
    indent = src.indent_of(imp.lineno)
    lines = []
    if kept:
        lines.append("from airflow.utils.dates import "
                     + ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in kept))
    if needs_pendulum:
        lines.append("import pendulum")
    start, end = src.span(imp)
    if not lines:  # the whole line goes
        start, end = src.offset(imp.lineno, 0), src.statement_line_end(imp)
        return Edit(start, end, "")
    return Edit(start, end, ("\n" + indent).join(lines))


# --- DC104 template variables -----------------------------------------------------------------------

def _string_literals(src: Source):
    """(start offset, raw source text) of every string literal; f-strings as a whole."""
    fstrings = [n for n in ast.walk(src.tree) if isinstance(n, ast.JoinedStr)]
    inner = {id(v) for n in fstrings for v in ast.walk(n) if v is not n}
    for node in ast.walk(src.tree):
        if id(node) in inner:
            continue
        if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and type(node.value) is str):
            start, end = src.span(node)
            yield start, src.text[start:end]


def _templates(src: Source) -> list[Finding]:
    findings = []
    for start, raw in _string_literals(src):
        for block in _JINJA.finditer(raw):
            for m in _CONTEXT_WORD.finditer(block.group(1)):
                offset = start + block.start(1) + m.start()
                word = m.group(1)
                line = src.line_of(offset)
                if word == "execution_date":
                    findings.append(Finding(
                        src.path, line, "DC104", BREAKS_ON_3,
                        "{{ execution_date }} is not in Airflow 3's template context (the task fails "
                        "rendering it)", "{{ logical_date }} (same value on 2.11.2)",
                        edits=[Edit(offset, offset + len(word), "logical_date")], subject=word))
                else:
                    findings.append(Finding(
                        src.path, line, "DC104", BREAKS_ON_3,
                        f"{{{{ {word} }}}} is not in Airflow 3's template context",
                        f"{{{{ {REMOVED_CONTEXT[word]} }}}}", subject=word))
    return findings


# --- DC103 cron meaning -----------------------------------------------------------------------------

def _cron_meaning(src: Source) -> list[Finding]:
    template_lines = sorted({src.line_of(start + b.start()) for start, raw in _string_literals(src)
                             for b in _JINJA.finditer(raw) if _DATE_TEMPLATE.search(b.group(1))})
    if not template_lines:
        return []
    findings = []
    for node in ast.walk(src.tree):
        if not isinstance(node, ast.keyword) or node.arg not in ("schedule", "schedule_interval"):
            continue
        value = node.value
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            continue
        cron = PRESETS.get(value.value.strip(), value.value.strip())
        if not _CRON.match(cron):
            continue
        shown = ", ".join(map(str, template_lines))
        findings.append(Finding(
            src.path, node.lineno, "DC103", WARNING,
            f"cron schedule {value.value!r} with date templates (line {shown}): Airflow 3 runs cron "
            "schedules with CronTriggerTimetable, whose logical_date is the run time, not the start of the "
            "data interval, so these templates name another period than on 2.11.2",
            f'schedule=CronDataIntervalTimetable("{cron}", timezone="UTC") with from '
            "airflow.timetables.interval import CronDataIntervalTimetable (Airflow 2's meaning, on both), "
            "or [scheduler] create_cron_data_intervals = True"))
    return findings


# --- DC105 the task context in Python code ----------------------------------------------------------

class _ContextVisitor(ast.NodeVisitor):
    def __init__(self, src: Source):
        self.src, self.kwargs, self.findings = src, [], []

    def visit_FunctionDef(self, node):
        args = node.args
        for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
            if a.arg in REMOVED_CONTEXT:
                self.findings.append(Finding(
                    self.src.path, a.lineno, "DC105", BREAKS_ON_3,
                    f"parameter {a.arg} of {node.name}(): if Airflow calls it as a task callable, "
                    f"Airflow 3 no longer passes {a.arg} (missing argument when the task runs)",
                    f"rename the parameter to {REMOVED_CONTEXT[a.arg].split(' ')[0]} and its uses in "
                    f"{node.name}()", subject=a.arg))
        self.kwargs.append(args.kwarg.arg if args.kwarg else None)
        self.generic_visit(node)
        self.kwargs.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def _key(self, container: ast.AST, key: ast.AST, lineno: int) -> None:
        if not (isinstance(key, ast.Constant) and key.value in REMOVED_CONTEXT):
            return
        word = key.value
        is_context = (isinstance(container, ast.Name) and self.kwargs and container.id == self.kwargs[-1])
        raw = self.src.segment(key)
        if word == "execution_date" and is_context and raw[0] == raw[-1] and raw[0] in "'\"":
            start, end = self.src.span(key)
            self.findings.append(Finding(
                self.src.path, lineno, "DC105", BREAKS_ON_3,
                f'{container.id}["execution_date"]: Airflow 3 has no execution_date in the task context',
                f'{container.id}["logical_date"] (same value on 2.11.2)',
                edits=[Edit(start, end, f"{raw[0]}logical_date{raw[0]}")], subject=word))
        elif is_context:
            self.findings.append(Finding(
                self.src.path, lineno, "DC105", BREAKS_ON_3,
                f"{word} from the task context: not in Airflow 3's context",
                REMOVED_CONTEXT[word], subject=word))

    def visit_Subscript(self, node):
        self._key(node.value, node.slice, node.lineno)
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and node.args:
            self._key(func.value, node.args[0], node.lineno)
        self.generic_visit(node)


def _context(src: Source) -> list[Finding]:
    visitor = _ContextVisitor(src)
    visitor.visit(src.tree)
    return visitor.findings


# --- DC106 provide_context --------------------------------------------------------------------------

def _provide_context(src: Source) -> list[Finding]:
    findings = []
    for call in (n for n in ast.walk(src.tree) if isinstance(n, ast.Call)):
        siblings = sorted([*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset))
        for i, kw in enumerate(siblings):
            if not (isinstance(kw, ast.keyword) and kw.arg == "provide_context"):
                continue
            start, end = src.span(kw)
            if i + 1 < len(siblings):  # up to the next argument
                end = src.span(siblings[i + 1])[0]
            elif i > 0:  # from the end of the previous one (its trailing comma stays)
                start = src.span(siblings[i - 1])[1]
            else:  # the only argument, and its trailing comma
                m = re.match(r"\s*,", src.text[end:])
                end += m.end() if m else 0
            findings.append(Finding(
                src.path, kw.lineno, "DC106", BREAKS_ON_3,
                "provide_context is ignored since Airflow 2.0 and rejected by Airflow 3",
                "remove provide_context=... (the context is passed to **kwargs anyway)",
                edits=[Edit(start, end, "")], subject="provide_context"))
    return findings
