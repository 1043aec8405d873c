"""Helpers shared by the benchmarks: interleaved timing, machine peak FLOP/s."""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable

try:
    import resource
except ImportError:  # Windows: no getrusage
    resource = None  # type: ignore[assignment]


def minor_faults() -> int | None:
    """This process's minor page faults so far (fresh pages the kernel zero-filled or mapped), or None where
    ``getrusage`` does not count them (no ``resource`` module: Windows)."""
    return None if resource is None else resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def median_mb(pages: list[int]) -> float:
    """The median of per-call page counts (differences of :func:`minor_faults`) as MB."""
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    return statistics.median(pages) * page / 2**20


def interleaved_samples(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1,
                        faults: dict[str, list[int]] | None = None) -> dict[str, list[float]]:
    """Seconds of every run of each callable, run round-robin (so background load hits all of them alike).

    Each round starts at the next callable (round r runs them from position r mod n), so no callable
    always follows the same one: what one leaves behind (freed memory the next one page-faults back in,
    evicted caches) is shared out evenly instead of being charged to whichever comes next. ``faults``: a
    dict filled with each run's minor page faults (:func:`minor_faults`), key by key, where they are counted."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    counted = faults is not None and minor_faults() is not None
    if counted:
        faults.update({k: [] for k in fns})
    items = list(fns.items())
    for r in range(repeats):
        for k, f in items[r % len(items):] + items[:r % len(items)]:
            pf = minor_faults() if counted else None
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
            if pf is not None:
                faults[k].append(minor_faults() - pf)
    return times


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median seconds of each callable, run round-robin (see :func:`interleaved_samples`)."""
    return {k: statistics.median(v) for k, v in interleaved_samples(fns, repeats, warmup).items()}


def cpu_peak_gflops(threads: int) -> tuple[float, str]:
    """Nominal float32 peak of ``threads`` cores: cores × GHz × FLOPs/cycle (2 FMA units assumed)."""
    flags, mhz, bogo = "", None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags") and not flags:
                    flags = line
                elif line.startswith("cpu MHz") and mhz is None:
                    mhz = float(line.split(":")[1])
                elif line.startswith("bogomips") and bogo is None:
                    bogo = float(line.split(":")[1])
    except OSError:
        pass
    if " avx512f" in flags:
        per_cycle, isa = 64, "AVX-512 (2 FMA × 16 lanes × 2)"
    elif " avx2" in flags and " fma" in flags:
        per_cycle, isa = 32, "AVX2 (2 FMA × 8 lanes × 2)"
    else:
        per_cycle, isa = 8, "SSE"
    ghz = (bogo / 2 if bogo else (mhz or 2000.0)) / 1000.0
    cores = min(threads, os.cpu_count() or threads)
    return cores * ghz * per_cycle, f"{cores} cores × {ghz:.2f} GHz × {per_cycle} FLOP/cycle, {isa}"


def measured_gemm_gflops(threads: int, size: int = 2048, repeats: int = 5) -> float:
    """Best float32 GFLOP/s of a ``size``² GEMM (``torch.mm``) on ``threads`` threads: the attainable peak
    of this machine (the nominal one assumes a clock that a virtual machine may not report)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        best = min(interleaved_samples({"mm": lambda: torch.mm(a, b)}, repeats)["mm"])
    finally:
        torch.set_num_threads(old)
    return 2 * size ** 3 / best / 1e9
