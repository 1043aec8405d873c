"""Shared text-parsing helpers for the readers: every failure is a :class:`FormatError` with file and line."""
from __future__ import annotations

import contextlib
import contextvars
import math
import os
import select
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union

import numpy as np

from skelzoo.errors import FormatError

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["PathLike", "read_text", "read_bytes", "read_head", "preloaded", "parse_rows", "parse_int",
           "to_floats", "check_fps", "check_output_size", "make_sequence", "FPS_RANGE", "MAX_FILE_BYTES"]

#: plausible frame rates of a skeleton recording (frames per second, inclusive)
FPS_RANGE = (1.0, 1000.0)
#: largest file (or piped stream) a reader accepts
MAX_FILE_BYTES = 2 << 30
#: a reader may allocate its declared output up to this many bytes plus ``_OUTPUT_PER_BYTE`` x file size
_OUTPUT_SLACK = 64 << 20
_OUTPUT_PER_BYTE = 64
#: seconds a pipe may stay silent before reading gives up
PIPE_IDLE_TIMEOUT = 60.0
_FLOAT32_MAX = float(np.finfo(np.float32).max)

_PRELOADED: contextvars.ContextVar[dict[str, bytes] | None] = contextvars.ContextVar("skelzoo_preloaded", default=None)


def _read_stream(fd: int, p: Path) -> bytes:
    """Read a pipe/FIFO (non-blocking descriptor) to its end, bounded in size and idle time."""
    chunks, total = [], 0
    while True:
        try:
            chunk = os.read(fd, 1 << 20)
        except BlockingIOError:  # a writer is connected but has sent nothing yet: wait for it
            ready, _, _ = select.select([fd], [], [], PIPE_IDLE_TIMEOUT)
            if not ready:
                raise FormatError(f"no data arrived on the pipe for {PIPE_IDLE_TIMEOUT:g} s", path=p) from None
            continue
        if not chunk:  # end of stream (a FIFO nobody writes to reads as empty at once)
            return b"".join(chunks)
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            raise FormatError(f"stream is larger than {MAX_FILE_BYTES} bytes", path=p)
        chunks.append(chunk)


def read_bytes(path: PathLike, limit: int | None = None) -> bytes:
    """The bytes of ``path`` (the first ``limit`` bytes when given), safely.

    Regular files larger than :data:`MAX_FILE_BYTES` are refused; pipes and FIFOs (``<(cat f)``,
    ``mkfifo``) are read without blocking on ``open`` (a FIFO without writer reads as empty), bounded in
    size and idle time; devices (``/dev/zero``), sockets and folders raise :class:`FormatError`. Inside
    :func:`preloaded` the bytes read once are served again, so a stream can be detected and then read.
    """
    p = Path(path)
    cached = (_PRELOADED.get() or {}).get(str(p))
    if cached is not None:
        return cached if limit is None else cached[:limit]
    try:
        st = os.stat(p)
    except OSError as e:
        raise FormatError(f"cannot read file: {e.strerror or e}", path=p) from None
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise FormatError("is a folder, not a file", path=p)
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
        raise FormatError("not a regular file or pipe (a device or socket); refusing to read it", path=p)
    if stat.S_ISREG(mode) and st.st_size > MAX_FILE_BYTES and limit is None:
        raise FormatError(f"file is {st.st_size} bytes, larger than the {MAX_FILE_BYTES}-byte limit", path=p)
    try:
        fd = os.open(p, os.O_RDONLY | (os.O_NONBLOCK if stat.S_ISFIFO(mode) else 0))
    except OSError as e:
        raise FormatError(f"cannot read file: {e.strerror or e}", path=p) from None
    try:
        if stat.S_ISFIFO(mode):
            data = _read_stream(fd, p)
            return data if limit is None else data[:limit]
        with os.fdopen(fd, "rb", closefd=False) as fh:
            # read(n) allocates n bytes up front: ask for what the file holds (+1 to notice growth)
            return fh.read(min(st.st_size, MAX_FILE_BYTES) + 1 if limit is None else limit)
    except OSError as e:
        raise FormatError(f"cannot read file: {e.strerror or e}", path=p) from None
    finally:
        os.close(fd)


def read_head(path: PathLike, n: int) -> bytes:
    """The first ``n`` bytes (see :func:`read_bytes`; a stream is read whole, so use :func:`preloaded`)."""
    return read_bytes(path, limit=n)


def is_stream(path: PathLike) -> bool:
    """Whether ``path`` exists and is not a regular file (a pipe, FIFO, device, ...)."""
    try:
        return not stat.S_ISREG(os.stat(path).st_mode) and not stat.S_ISDIR(os.stat(path).st_mode)
    except OSError:
        return False


@contextlib.contextmanager
def preloaded(path: PathLike) -> Iterator[None]:
    """Within the block, a non-regular ``path`` (a pipe) is read once and every reader gets the same bytes.

    Regular files are left alone (detection reads their head, the reader the whole file).
    """
    if not is_stream(path):
        yield
        return
    data = read_bytes(path)
    table = dict(_PRELOADED.get() or {})
    table[str(Path(path))] = data
    token = _PRELOADED.set(table)
    try:
        yield
    finally:
        _PRELOADED.reset(token)


def file_size(path: PathLike) -> int:
    """Size in bytes of ``path`` (of its preloaded bytes for a stream; 0 when unknown)."""
    cached = (_PRELOADED.get() or {}).get(str(Path(path)))
    if cached is not None:
        return len(cached)
    try:
        return int(os.stat(path).st_size)
    except OSError:
        return 0


def check_fps(fps: Any, *, path: PathLike | None = None, line: int | None = None, what: str = "frame rate") -> float:
    """``fps`` as a float if it is a plausible frame rate (finite, within :data:`FPS_RANGE`), else FormatError."""
    lo, hi = FPS_RANGE
    try:
        value = float(fps)
    except (TypeError, ValueError, OverflowError):
        raise FormatError(f"{what} must be a number, got {str(fps)[:40]!r}", path=path, line=line) from None
    if not (math.isfinite(value) and lo <= value <= hi):
        raise FormatError(f"{what} ({value:g} fps) is not plausible: skelzoo accepts {lo:g} to {hi:g} fps",
                          path=path, line=line)
    return value


def check_output_size(nbytes: float, *, path: PathLike, what: str) -> None:
    """Refuse to allocate an output far larger than the file that declares it.

    The bound is 64 MiB plus 64 bytes per byte of the file: real recordings stay far below it, while a
    few bytes that claim millions of frames, persons or joints fail here instead of in the allocator.
    """
    limit = _OUTPUT_SLACK + _OUTPUT_PER_BYTE * file_size(path)
    if nbytes > limit:
        raise FormatError(f"{what} would need {nbytes / 2**20:.0f} MiB for a {file_size(path)}-byte file "
                          f"(limit {limit / 2**20:.0f} MiB); the counts in the file are implausible", path=path)


def make_sequence(path: PathLike, *args: Any, **kwargs: Any) -> Any:
    """``SkeletonSequence(*args, **kwargs)`` with every validation error turned into a FormatError naming ``path``."""
    from skelzoo.io.sequence import SkeletonSequence

    try:
        return SkeletonSequence(*args, **kwargs)
    except FormatError:
        raise
    except ValueError as e:
        raise FormatError(str(e), path=path) from None


def read_text(path: PathLike) -> str:
    """The file as text (UTF-8, BOM stripped); an empty, unreadable or binary file raises FormatError."""
    p = Path(path)
    raw = read_bytes(p)
    if len(raw) > MAX_FILE_BYTES:
        raise FormatError(f"file is larger than the {MAX_FILE_BYTES}-byte limit", path=p)
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
        if not _plain_number(token):
            raise ValueError(token)
        value = int(token)
    except ValueError:
        raise FormatError(f"{what}: expected an integer, found {token[:40]!r}", path=path, line=line) from None
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise FormatError(f"{what}: {value} is not {rng}", path=path, line=line)
    return value


def _plain_number(text: str) -> bool:
    """ASCII and no ``_`` digit separators: Python's ``float``/``int`` accept ``1_000.5`` and non-ASCII
    digits, a skeleton file must not."""
    return text.isascii() and "_" not in text


def to_floats(tokens: list[str], *, path: PathLike, line: int, what: str,
              max_abs: float = _FLOAT32_MAX) -> np.ndarray:
    """Convert tokens to a finite float64 array with ``|value| <= max_abs`` (errors name ``line``)."""
    try:
        bad_tok = next((t for t in tokens if not _plain_number(t)), None)
        if bad_tok is not None:
            raise ValueError(bad_tok)
        arr = np.asarray(tokens, dtype=np.float64)
    except ValueError:
        bad = next((t for t in tokens if not _is_float(t)), "?")
        raise FormatError(f"{what}: non-numeric value {bad[:40]!r}", path=path, line=line) from None
    if not np.isfinite(arr).all():
        raise FormatError(f"{what}: non-finite value (nan/inf)", path=path, line=line)
    if (np.abs(arr) > max_abs).any():
        raise FormatError(f"{what}: value out of range (|x| > {max_abs:.3g})", path=path, line=line)
    return arr


def _is_float(token: str) -> bool:
    if not _plain_number(token):
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


def parse_rows(lines: list[str], ncols: int, *, path: PathLike, first_line: int | np.ndarray,
               sep: str | None = None, what: str = "values", max_abs: float = _FLOAT32_MAX) -> np.ndarray:
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
    joined = " ".join(lines) if sep is None else sep.join(lines)
    try:
        if not _plain_number(joined):
            raise ValueError("non-ASCII or '_' in numbers")
        arr = np.asarray(joined.split(sep), dtype=np.float64).reshape(n, ncols)
    except ValueError:
        for i, s in enumerate(lines):
            to_floats(s.split(sep), path=path, line=int(numbers[i]), what=what)
        raise FormatError(f"cannot parse {what}", path=path, line=int(numbers[0])) from None
    del joined
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        i = int(np.flatnonzero(~finite)[0])
        raise FormatError(f"non-finite value (nan/inf) in {what}", path=path, line=int(numbers[i]))
    big = (np.abs(arr) > max_abs).any(axis=1)
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise FormatError(f"value out of range (|x| > {max_abs:.3g}) in {what}", path=path, line=int(numbers[i]))
    return arr
