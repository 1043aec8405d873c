"""Process-wide CPU runtime settings. Importing skelzoo changes none of them; the ``skelzoo`` command line
applies :func:`tune_allocator` (switch: ``SKELZOO_TUNE_MALLOC=0``) and the benchmarks state whether they did.

**The C allocator.** A CPU forward allocates its activations as fresh tensors: tens of megabytes each at
the backbones' sizes (a ``(16, 192, 64, 25)`` float32 tensor is 20 MB). glibc's ``malloc`` hands such blocks
out as new ``mmap`` pages and returns them to the kernel on ``free`` (its mmap / trim thresholds, which
adapt to the history of the process), so every forward pays the kernel for zero-filled pages again: on the
project's 2-core machine a float32 1×1 convolution of that size ran at 9-11 GFLOP/s with the default
thresholds and at 40-65 with the blocks kept in the process (``benchmarks/backbones.py`` shows the effect
on whole models, skelzoo's and the official code alike). :func:`tune_allocator` sets the two thresholds
(``mallopt``) so that blocks up to ``mmap_threshold`` come from the heap and up to ``keep`` bytes of
freed heap stay in the process for reuse: the behaviour of jemalloc / tcmalloc, which PyTorch's own CPU
performance guide recommends preloading. The cost is memory the process keeps after its peak (at most
``keep`` bytes above what it uses). Linux with glibc only; elsewhere it does nothing and returns False.

How many fresh pages the default thresholds cost depends on what else the process did before: the same AAGCN
forward (batch 8) faulted in 0 MB or 104 MB per call depending on the code interleaved with it
(``benchmarks/backbones.py`` prints the median per forward, ``pf MB``). In a process that runs nothing but one
skelzoo CTR-GCN (batch 8, 2 threads) the default thresholds cost 114-211 MB of fresh pages per forward: 0.28-0.34 s
against 0.23-0.26 s tuned (2026-12-05; ``benchmarks/fresh_process.py`` times each model alone). PyTorch's own switch
``THP_MEM_ALLOC_ENABLE=1`` (transparent huge pages for its CPU tensors of 2 MB and more; read once, so it must
be in the environment before torch starts) is the other process-wide remedy: with glibc's default thresholds
it recovered most of that cost (AAGCN 0.337 s against 0.389 s, CTR-GCN 0.253 against 0.334 s, 2 threads,
2026-12-05) and added nothing on top of :func:`tune_allocator`. skelzoo sets neither on import.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Any

__all__ = ["tune_allocator", "allocator_tuned", "tune_allocator_from_env", "env_flag"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's static defaults (its dynamic adjustment, disabled by any explicit setting, starts from these)
_GLIBC_DEFAULT = 128 * 1024
_MIB = 1024 * 1024
_TUNED = False


def _libc() -> Any | None:
    """glibc as a ctypes library, or None (not Linux, or a C library without ``mallopt``, e.g. musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only: musl has no mallopt thresholds
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def tune_allocator(enabled: bool = True, *, mmap_threshold: int = 256 * _MIB, keep: int = 512 * _MIB) -> bool:
    """Keep large freed blocks in the process for reuse (see the module docstring); returns whether it applied.

    Args:
        enabled: False sets glibc's static defaults back (128 KiB each; glibc's dynamic adjustment stays off).
        mmap_threshold: blocks up to this many bytes come from the heap instead of fresh ``mmap`` pages.
        keep: freed heap up to this many bytes is not returned to the kernel (``M_TRIM_THRESHOLD``).
    """
    global _TUNED
    if mmap_threshold <= 0 or keep <= 0:
        raise ValueError(f"mmap_threshold and keep must be positive byte counts, got {mmap_threshold}, {keep}")
    libc = _libc()
    if libc is None:
        return False
    mmap_b, keep_b = (min(mmap_threshold, 2**31 - 1), min(keep, 2**31 - 1)) if enabled else (_GLIBC_DEFAULT,) * 2
    ok = bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap_b)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, keep_b))
    _TUNED = ok and enabled
    return ok


def allocator_tuned() -> bool:
    """Whether :func:`tune_allocator` has applied the tuned thresholds in this process."""
    return _TUNED


def env_flag(name: str, default: bool = True) -> bool:
    """An on/off switch from the environment: ``0`` / ``false`` / ``no`` / ``off`` (any case, spaces ignored)
    is off, ``1`` / ``true`` / ``yes`` / ``on`` is on, unset or empty is ``default``; any other value raises
    ``ValueError`` naming the variable (a typo must not silently keep the default)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"environment variable {name}={os.environ[name]!r}: expected 0/1, false/true, no/yes "
                     f"or off/on")


def tune_allocator_from_env() -> bool:
    """:func:`tune_allocator` unless ``SKELZOO_TUNE_MALLOC`` is off (:func:`env_flag`; the CLI's call)."""
    return tune_allocator() if env_flag("SKELZOO_TUNE_MALLOC") else False
