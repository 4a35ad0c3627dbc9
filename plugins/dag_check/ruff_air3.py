"""Ruff's AIR3 rules (Airflow 3 removals and moves), run as ``ruff check --select AIR3``.

Ruff is not in the official Airflow image. Without it this part reports that it did not run, and
the rest of dag_check works as before.

Of ruff's fixes, ``--fix`` applies only the safe ones that rename in place (``schedule_interval`` ->
``schedule``). Fixes that add imports point at ``airflow.sdk`` or the ``standard`` provider, which
Airflow 2.11.2 and its image do not have: applied, they would break the DAG on the stack it runs on,
so they are printed instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from dag_check.source import BREAKS_ON_3, WARNING, Edit, Finding, Source

# AIR301 removed, AIR302 moved to a provider: fail on Airflow 3. AIR311/AIR312: still work on 3.x.
BREAKING = {"AIR301", "AIR302"}


class RuffUnavailable(Exception):
    pass


def find_ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if exe:
        return [exe]
    try:
        from ruff.__main__ import find_ruff_bin  # the ruff wheel's own locator

        return [str(find_ruff_bin())]
    except (ImportError, FileNotFoundError):
        raise RuffUnavailable("ruff is not installed here (pip install 'ruff>=0.11.6')") from None


def run(paths: list[Path]) -> list[dict]:
    if not paths:
        return []
    cmd = [*find_ruff(), "check", "--isolated", "--no-cache", "--select", "AIR3", "--exit-zero",
           "--output-format", "json", *map(str, paths)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuffUnavailable(f"ruff failed (AIR3 needs ruff >= 0.11.6): {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout or "[]")


def findings(src: Source, diagnostics: list[dict]) -> list[Finding]:
    out = []
    for d in diagnostics:
        if Path(d["filename"]).resolve() != src.path.resolve():
            continue
        fix = d.get("fix") or {}
        edits = []
        if fix.get("applicability") == "safe" and not any("import " in e["content"] for e in fix["edits"]):
            edits = [Edit(src.char_offset(e["location"]["row"], e["location"]["column"] - 1),
                          src.char_offset(e["end_location"]["row"], e["end_location"]["column"] - 1),
                          e["content"]) for e in fix["edits"]]
        replacement = fix.get("message") or f"see {d.get('url') or 'ruff rule ' + d['code']}"
        out.append(Finding(src.path, d["location"]["row"], d["code"],
                           BREAKS_ON_3 if d["code"] in BREAKING else WARNING,
                           d["message"].rstrip(";"), replacement, edits=edits))
    return out
