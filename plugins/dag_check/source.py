"""A parsed DAG file, findings about it, and text-preserving edits to it."""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass, field
from pathlib import Path

# What a finding means for the version a user runs.
BREAKS_NOW = "2.11.2"  # fails on the shipped Airflow 2.11.2 + its providers (and on Airflow 3)
BREAKS_ON_3 = "3"  # works on 2.11.2, fails on Airflow 3
WARNING = "warning"  # does not fail, but changes meaning or is deprecated


class CheckError(Exception):
    """A file that cannot be checked or changed (unreadable, not Python, a rewrite that would not parse)."""


@dataclass(frozen=True)
class Edit:
    start: int  # character offsets into the file's text
    end: int
    text: str


@dataclass
class Finding:
    path: Path
    line: int
    rule: str
    breaks: str  # BREAKS_NOW, BREAKS_ON_3 or WARNING
    message: str  # what breaks
    replacement: str  # the exact change
    edits: list[Edit] = field(default_factory=list)  # empty: not rewritten by --fix
    subject: str = ""  # the name the finding is about (to drop ruff's duplicate of our own finding)

    @property
    def fixable(self) -> bool:
        return bool(self.edits)

    def format(self, shown_path: str) -> str:
        scope = {BREAKS_NOW: "breaks on Airflow 2.11.2", BREAKS_ON_3: "breaks on Airflow 3",
                 WARNING: "warning"}[self.breaks]
        fix = " [--fix]" if self.fixable else ""
        return f"{shown_path}:{self.line}: {self.rule} {scope}: {self.message} -> {self.replacement}{fix}"


class Source:
    """One file: its text, its syntax tree, and conversions from ast/ruff positions to text offsets."""

    def __init__(self, path: Path, text: str | None = None):
        self.path = path
        if text is None:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CheckError(f"{path}: cannot read: {exc}") from None
        self.text = text
        try:
            self.tree = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            raise CheckError(f"{path}:{exc.lineno}: cannot parse: {exc.msg}") from None
        self.lines = text.splitlines(keepends=True)
        self._starts = [0]
        for line in self.lines:
            self._starts.append(self._starts[-1] + len(line))

    def offset(self, lineno: int, col_utf8: int) -> int:
        """Text offset of an ast position (ast columns count UTF-8 bytes)."""
        line = self.lines[lineno - 1] if lineno <= len(self.lines) else ""
        return self._starts[lineno - 1] + len(line.encode("utf-8")[:col_utf8].decode("utf-8", "replace"))

    def char_offset(self, row: int, col_chars: int) -> int:
        """Text offset of a 1-based row and 0-based character column (ruff's columns minus one)."""
        return self._starts[row - 1] + col_chars

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),
                self.offset(node.end_lineno, node.end_col_offset))

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def line_of(self, offset: int) -> int:
        lo, hi = 0, len(self._starts) - 1
        while lo < hi:  # last line start <= offset
            mid = (lo + hi + 1) // 2
            if self._starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def indent_of(self, lineno: int) -> str:
        line = self.lines[lineno - 1]
        return line[: len(line) - len(line.lstrip())]

    def statement_line_end(self, node: ast.stmt) -> int:
        """Offset just after the newline that ends `node` (for inserting a line after it)."""
        return self._starts[min(node.end_lineno, len(self.lines))]


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits; overlapping ones are a bug in a rule, not a user error."""
    out, pos = [], 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if edit.start < pos:
            raise CheckError(f"internal error: overlapping edits at offset {edit.start}")
        out.append(text[pos:edit.start])
        out.append(edit.text)
        pos = edit.end
    out.append(text[pos:])
    return "".join(out)


def backup_path(path: Path) -> Path:
    """file.py.bak, or file.py.bak.1, .2 ... when an earlier --fix already kept one."""
    candidate = path.with_name(path.name + ".bak")
    n = 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak.{n}")
    return candidate


def rewrite(src: Source, edits: list[Edit]) -> Path:
    """Write the edited text over the file, after copying the original aside; returns the copy's path.

    Raises CheckError, and changes nothing, when the result would not parse."""
    new_text = apply_edits(src.text, edits)
    try:
        ast.parse(new_text, filename=str(src.path))
    except SyntaxError as exc:
        raise CheckError(f"{src.path}: internal error: the rewrite would not parse ({exc.msg}); "
                         "file left unchanged") from None
    backup = backup_path(src.path)
    shutil.copy2(src.path, backup)
    src.path.write_text(new_text, encoding="utf-8")
    return backup
