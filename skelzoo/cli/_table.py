"""Plain-text tables for the terminal output of the CLI (header, aligned columns)."""
from __future__ import annotations

import sys
from typing import Any, Sequence

__all__ = ["format_table", "want_table"]


def format_table(header: Sequence[str], rows: Sequence[Sequence[Any]], *, align: str | None = None,
                 indent: str = "") -> str:
    """Rows under a header, each column as wide as its widest cell; ``align`` has one letter per column
    (``l`` left, ``r`` right; default: numbers right, text left)."""
    cells = [[str(c) for c in header]] + [["-" if c is None else str(c) for c in r] for r in rows]
    n = len(header)
    widths = [max(len(r[i]) for r in cells) for i in range(n)]
    if align is None:
        align = "".join("r" if rows and all(isinstance(r[i], (int, float)) or _numeric(str(r[i])) for r in rows)
                        else "l" for i in range(n))
    lines = []
    for k, r in enumerate(cells):
        parts = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, align)]
        lines.append(indent + "  ".join(parts).rstrip())
        if k == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _numeric(s: str) -> bool:
    try:
        float(s.replace("%", ""))
        return True
    except ValueError:
        return s == "-"


def want_table(json_flag: bool) -> bool:
    """Table for a person (stdout is a terminal and ``--json`` not given), else JSON for programs."""
    return not json_flag and sys.stdout.isatty()
