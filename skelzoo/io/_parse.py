"""Shared text-parsing helpers for the readers: every failure is a :class:`FormatError` with file and line."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np

from skelzoo.errors import FormatError

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["PathLike", "read_text", "parse_rows", "parse_int", "to_floats"]


def read_text(path: PathLike) -> str:
    """The file as text (UTF-8, BOM stripped); an empty, unreadable or binary file raises FormatError."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise FormatError(f"cannot read file: {e.strerror or e}", path=p) from None
    if not raw.strip():
        raise FormatError("file is empty", path=p)
    if b"\x00" in raw:
        raise FormatError("file contains NUL bytes (binary file, not text)", path=p)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise FormatError("file is not valid UTF-8 text", path=p, line=line) from None
    return text.lstrip("\ufeff")


def parse_int(token: str, *, path: PathLike, line: int, what: str, lo: int = 0, hi: int | None = None) -> int:
    """Parse one integer field, checking ``lo <= value <= hi``."""
    try:
        value = int(token)
    except ValueError:
        raise FormatError(f"{what}: expected an integer, found {token[:40]!r}", path=path, line=line) from None
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise FormatError(f"{what}: {value} is not {rng}", path=path, line=line)
    return value


def to_floats(tokens: list[str], *, path: PathLike, line: int, what: str) -> np.ndarray:
    """Convert tokens to a finite float64 array (errors name ``line``)."""
    try:
        arr = np.asarray(tokens, dtype=np.float64)
    except ValueError:
        bad = next((t for t in tokens if not _is_float(t)), "?")
        raise FormatError(f"{what}: non-numeric value {bad[:40]!r}", path=path, line=line) from None
    if not np.isfinite(arr).all():
        raise FormatError(f"{what}: non-finite value (nan/inf)", path=path, line=line)
    return arr


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_rows(lines: list[str], ncols: int, *, path: PathLike, first_line: int | np.ndarray,
               sep: str | None = None, what: str = "values") -> np.ndarray:
    """Parse ``len(lines)`` rows of exactly ``ncols`` numbers into a finite float64 ``(N, ncols)`` array.

    ``first_line`` is the 1-based file line number of ``lines[0]`` (or an array with the line number of
    every row, for rows gathered from non-contiguous places), used in error messages. The
    conversion is one vectorised ``np.asarray`` call; only on failure are lines inspected one by one to
    name the culprit.
    """
    n = len(lines)
    if isinstance(first_line, np.ndarray):
        numbers = first_line
    else:
        numbers = np.arange(first_line, first_line + n)
    if n == 0:
        return np.zeros((0, ncols), dtype=np.float64)
    counts = np.fromiter((len(s.split(sep)) for s in lines), dtype=np.int64, count=n)
    bad = np.flatnonzero(counts != ncols)
    if bad.size:
        i = int(bad[0])
        raise FormatError(f"expected {ncols} {what}, found {int(counts[i])}", path=path, line=int(numbers[i]))
    tokens = (" ".join(lines) if sep is None else sep.join(lines)).split(sep)
    try:
        arr = np.asarray(tokens, dtype=np.float64).reshape(n, ncols)
    except ValueError:
        for i, s in enumerate(lines):
            to_floats(s.split(sep), path=path, line=int(numbers[i]), what=what)
        raise FormatError(f"cannot parse {what}", path=path, line=int(numbers[0])) from None
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise FormatError(f"non-finite value (nan/inf) in {what}", path=path, line=int(numbers[i]))
    return arr
