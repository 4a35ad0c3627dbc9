"""python -m dag_check [--fix] [--target 2|3] [PATH ...]

Prints one line per finding, ``file:line: RULE scope: what breaks -> replacement`` (``[--fix]`` marks
what --fix rewrites), then a summary. Exit code 0: nothing breaks on the target; 1: something does;
2: usage error, or a file that cannot be read or parsed (it is named, and never changed).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from dag_check import airflow3, imports, renames, ruff_air3
from dag_check.source import BREAKS_NOW, BREAKS_ON_3, WARNING, CheckError, Finding, Source, rewrite

EPILOG = """\
--target 2 (default): exit 1 when something fails on the shipped Airflow 2.11.2 and its providers;
  Airflow 3 findings are listed too, without ruff's "still works on 3.x" suggestions (AIR311/AIR312).
--target 3: exit 1 also for what fails on Airflow 3; all of ruff's AIR3 findings.
--fix rewrites only what stays valid on 2.11.2 and 3.x, keeps the original as FILE.py.bak, and then
  lists what is left to change by hand. Files that do not parse are never changed.
"""


def default_dags_folder() -> Path:
    if os.environ.get("AIRFLOW__CORE__DAGS_FOLDER"):
        return Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    if os.environ.get("AIRFLOW_HOME"):
        return Path(os.environ["AIRFLOW_HOME"]) / "dags"
    return Path("dags")


def collect(paths: list[Path]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """(root, file) for every .py file; roots go on sys.path as Airflow puts its dags folder there."""
    files, errors = [], []
    for path in paths:
        if path.is_dir():
            for f in sorted(path.rglob("*.py")):
                parts = f.relative_to(path).parts
                if not any(p.startswith(".") or p == "__pycache__" for p in parts):
                    files.append((path, f))
        elif path.is_file():
            files.append((path.parent, path))
        else:
            errors.append(f"no such file or directory: {path}")
    return files, errors


def shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Report:
    def __init__(self, target: str):
        self.target = target
        self.findings: list[Finding] = []
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.sources: dict[Path, Source] = {}

    def breaking(self) -> list[Finding]:
        scopes = {BREAKS_NOW} | ({BREAKS_ON_3} if self.target == "3" else set())
        return [f for f in self.findings if f.breaks in scopes]


def _airflow_importable() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("airflow") is not None
    except ImportError:
        return False


def check(files: list[tuple[Path, Path]], target: str) -> Report:
    report = Report(target)
    for _, path in files:
        try:
            report.sources[path] = Source(path)
        except CheckError as exc:
            report.errors.append(f"{exc} (not checked, not changed)")
    try:
        diagnostics = ruff_air3.run(list(report.sources))
    except ruff_air3.RuffUnavailable as exc:
        diagnostics = []
        report.notes.append(f"ruff's Airflow 3 rules (AIR3) did not run: {exc}. The Airflow 3 part of "
                            "this report is incomplete; dag_check's own rules ran.")
    resolve = _airflow_importable()
    if not resolve:
        report.notes.append("imports were not resolved (DC100): Airflow is not installed in this Python; "
                            "run the check inside the image to see import errors before the DagBag does.")
    roots = sorted({root for root, _ in files}, key=str)
    for src in report.sources.values():
        own = [*renames.check(src), *airflow3.check(src)]
        found = list(own)
        for f in ruff_air3.findings(src, diagnostics):
            if target == "2" and f.breaks == WARNING:
                continue
            if any(o.line == f.line and o.subject and re.search(rf"\b{re.escape(o.subject)}\b", f.message)
                   for o in own):
                continue  # our own finding says the same, with a rewrite that keeps 2.11.2 working
            found.append(f)
        if resolve:
            with imports.search_path(roots):
                found += imports.check(src, {(f.line, f.subject) for f in own})
        report.findings += sorted(found, key=lambda f: (f.line, f.rule))
    return report


def fix(report: Report) -> list[str]:
    lines = []
    for path, src in report.sources.items():
        own, theirs = [], []
        for f in report.findings:
            if f.path == path and f.fixable:
                (theirs if f.rule.startswith("AIR") else own).append(f)
        edits = list(dict.fromkeys(e for f in own for e in f.edits))
        for f in theirs:  # ruff's edits never override ours
            if all(e.end <= o.start or e.start >= o.end or e == o for e in f.edits for o in edits):
                edits += [e for e in f.edits if e not in edits]
        if not edits:
            continue
        try:
            backup = rewrite(src, edits)
        except CheckError as exc:
            report.errors.append(str(exc))
            continue
        lines.append(f"dag_check: fixed {shown(path)} ({len(edits)} changes; original kept in {backup.name})")
    return lines


def print_report(report: Report, title: str = "") -> None:
    if title:
        print(title)
    for f in report.findings:
        print(f.format(shown(f.path)))
    count = {s: sum(f.breaks == s for f in report.findings) for s in (BREAKS_NOW, BREAKS_ON_3, WARNING)}
    fixable = sum(f.fixable for f in report.findings)
    print(f"dag_check: {len(report.sources)} files checked (--target {report.target}): "
          f"{count[BREAKS_NOW]} break on Airflow 2.11.2, {count[BREAKS_ON_3]} break on Airflow 3, "
          f"{count[WARNING]} warnings; {fixable} rewritable with --fix")
    for note in report.notes:
        print(f"dag_check: note: {note}", file=sys.stderr)
    for error in report.errors:
        print(f"dag_check: error: {error}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dag_check", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
        description="Report what in DAG files breaks on the shipped Airflow 2.11.2 + providers or on "
                    "Airflow 3 (file, line, rule, replacement); --fix rewrites what is safe to rewrite.")
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                        help="DAG files or folders (default: the dags folder, $AIRFLOW_HOME/dags)")
    parser.add_argument("--fix", action="store_true", help="rewrite what is safe; keeps FILE.py.bak")
    parser.add_argument("--target", choices=("2", "3"), default="2",
                        help="exit 1 for what breaks on 2.11.2 (2, default) or also on Airflow 3 (3)")
    args = parser.parse_args(argv)

    paths = args.paths or [default_dags_folder()]
    files, missing = collect(paths)
    if missing:
        for error in missing:
            print(f"dag_check: error: {error}", file=sys.stderr)
        return 2
    if not files:
        print(f"dag_check: error: no .py files in {', '.join(map(str, paths))}", file=sys.stderr)
        return 2

    report = check(files, args.target)
    print_report(report)
    if args.fix:
        done = fix(report)
        for line in done:
            print(line)
        if done:
            unparseable = report.errors
            report = check([(r, f) for r, f in files if f in report.sources], args.target)
            report.errors = unparseable + report.errors
            print_report(report, "dag_check: left after --fix:")
    if report.errors:
        return 2
    return 1 if report.breaking() else 0
