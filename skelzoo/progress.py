"""Progress bars for long steps (tqdm), shown only where a person watches: on a terminal (stderr is a TTY)."""
from __future__ import annotations

import sys
from typing import Any, Iterable

__all__ = ["progress"]


class _Null:
    """Stand-in when bars are off or tqdm is not installed: iterates and ignores updates."""

    def __init__(self, iterable: Iterable[Any] | None) -> None:
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable if self.iterable is not None else ())

    def update(self, n: int = 1) -> None: ...

    def set_postfix_str(self, s: str) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> "_Null":
        return self

    def __exit__(self, *exc: Any) -> None: ...


def progress(iterable: Iterable[Any] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it", enabled: bool | None = None, min_total: int = 2) -> Any:
    """A tqdm bar over ``iterable`` (or a manual one with ``total``); ``enabled=None`` shows it only when stderr
    is a terminal, and never for fewer than ``min_total`` steps. Without tqdm, a silent stand-in."""
    if enabled is None:
        enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
    n = total
    if n is None and hasattr(iterable, "__len__"):
        n = len(iterable)  # type: ignore[arg-type]
    if not enabled or (n is not None and n < min_total):
        return _Null(iterable)
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return _Null(iterable)
    return tqdm(iterable, total=n, desc=desc, unit=unit, leave=False, dynamic_ncols=True, file=sys.stderr)
