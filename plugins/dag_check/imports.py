"""DC100: module-level imports the installed packages cannot satisfy, i.e. the ImportError the DagBag
would show, found before deploying. Resolved against this Python environment (in the image: the
image's Airflow, providers and requirements.txt), with the DAG folder on the path as Airflow puts it.

Only ``airflow`` modules are imported (to see whether a name still exists in them); other modules are
only located, so checking never runs a DAG's helper code. Imports inside ``try`` blocks are skipped:
those are deliberate fallbacks (``try: from airflow.sdk import dag / except ImportError: ...``).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import sys
import warnings
from pathlib import Path

from dag_check.source import BREAKS_NOW, Finding, Source


@contextlib.contextmanager
def search_path(roots: list[Path]):
    saved = list(sys.path)
    sys.path[:0] = [str(r) for r in roots]
    try:
        yield
    finally:
        sys.path[:] = saved


def _module_exists(name: str) -> bool | None:
    """True/False, or None when finding it raised something else (a broken parent package)."""
    try:
        if importlib.util.find_spec(name) is not None:
            return True
    except ModuleNotFoundError:
        pass
    except Exception:  # noqa: BLE001 - a parent package failing to import: not ours to judge
        return None
    if name.split(".")[0] != "airflow":
        return False
    # Airflow 3 still serves moved modules at their old names (airflow.operators.bash -> the standard
    # provider) through its deprecation shims, which find_spec does not see: only importing tells.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            importlib.import_module(name)
            return True
        except ImportError:
            return False
        except Exception:  # noqa: BLE001
            return None


def _missing_names(module: str, names: list[str]) -> list[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecation shims warn on import
        try:
            mod = importlib.import_module(module)
        except Exception:  # noqa: BLE001
            return []
        return [n for n in names if n != "*" and not hasattr(mod, n) and not _module_exists(f"{module}.{n}")]


def _top_level_imports(tree: ast.Module):
    """Imports that run when the file is parsed: module level, including if/with blocks, not try."""
    stack = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If | ast.With):
            stack[:0] = [*node.body, *getattr(node, "orelse", [])]


def check(src: Source, covered: set[tuple[int, str]]) -> list[Finding]:
    """`covered`: (line, name) pairs another rule already explains (with a replacement)."""
    findings = []
    for node in _top_level_imports(src.tree):
        if isinstance(node, ast.Import):
            targets = [(a.name, None) for a in node.names]
        elif node.level == 0 and node.module:
            targets = [(node.module, [a.name for a in node.names])]
        else:
            continue
        for module, names in targets:
            if any(line == node.lineno and n in (names or [module]) for line, n in covered):
                continue
            exists = _module_exists(module)
            if exists is False:
                findings.append(Finding(
                    src.path, node.lineno, "DC100", BREAKS_NOW,
                    f"No module named {module!r} in this environment (ModuleNotFoundError when parsed)",
                    _missing_module_hint(module), subject=module))
            elif exists and names and module.split(".")[0] == "airflow":
                for name in _missing_names(module, names):
                    findings.append(Finding(
                        src.path, node.lineno, "DC100", BREAKS_NOW,
                        f"cannot import name {name!r} from {module!r} (ImportError when parsed)",
                        f"find where {name} went in the changelog of the package that provides {module}",
                        subject=name))
    return findings


def _missing_module_hint(module: str) -> str:
    top = module.split(".")[0]
    if top == "airflow":
        return ("this Airflow or provider module does not exist here: check the changelog of the "
                "provider that had it")
    return (f"add the package that provides {top!r} to requirements.txt and rebuild "
            "(docker compose up -d --build), or put the module in dags/ or plugins/")
