"""The benchmark scripts still run (smoke: tiny workloads; timings are printed, never asserted).

``benchmarks/`` is how the performance numbers in docs/performance.md are produced; these runs keep the
scripts from rotting when the library changes under them (a renamed function, a new backbone that breaks
the FLOP count, an output-equality check that starts failing).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(*args: str) -> str:
    r = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=BENCH.parent, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_backbones_table():
    out = _run(str(BENCH / "backbones.py"), "--pattern", "stgcn_ssl", "--frames", "16", "--repeats", "1",
               "--batch", "2", "--allocator", "all")
    rows = [line for line in out.splitlines() if line.startswith("stgcn_ssl ")]
    assert [r.split()[1] for r in rows] == ["default", "tuned", "thp"]  # one row per allocator setting
    for row in rows:
        cells = row.split()
        # ... diff plain, diff off (needs --official), then "pf MB fast/off" as "A / B" (off = plain here)
        rel_diff, diff_off, (pf_fast, slash, pf_plain) = float(cells[-5]), cells[-4], cells[-3:]
        assert diff_off == "-"
        assert rel_diff < 1e-5  # the fast path equals the plain one
        if sys.platform.startswith("linux"):
            assert slash == "/" and float(pf_fast) >= 0 and float(pf_plain) >= 0
    assert "GFLOP" in out and "2048² GEMM" in out and "THP_MEM_ALLOC_ENABLE=1" in out


def test_fresh_process_table(tmp_path):
    """``benchmarks/fresh_process.py``: each side in fresh processes of its own, round by round; one row per
    allocator with one ratio per round, and the JSON rows carry every process's median."""
    js = tmp_path / "rows.json"
    out = _run(str(BENCH / "fresh_process.py"), "--pattern", "stgcn_ssl", "--frames", "16", "--batch", "2",
               "--repeats", "2", "--warmup", "1", "--rounds", "2", "--allocator", "both", "--json", str(js))
    rows = [line for line in out.splitlines() if line.startswith("stgcn_ssl ")]
    assert [r.split()[1] for r in rows] == ["default", "tuned"]
    for line in rows:
        cells = line.split()
        assert cells[5].endswith("x") and cells[6].endswith("x")  # fast/plain, (best)
        assert all(float(c) > 0 for c in cells[7:9])  # one plain/fast ratio per round
        assert cells[12:15] == ["-", "-", "-"]  # no criterion without --official (the plain path is not it)
    import json
    data = json.loads(js.read_text())
    assert [d["allocator"] for d in data] == ["default", "tuned"]
    for d in data:
        assert d["reference"] == "plain" and len(d["fast_s_rounds"]) == len(d["reference_s_rounds"]) == 2
        assert d["fast_s"] > 0 and d["base_s"] > 0 and d["gflop"] > 0 and d["gemm_gflops"] > 0
        assert "official_s" not in d  # the plain path stood in: never reported as the official code
        if sys.platform.startswith("linux"):
            assert d["fast_faults_mb"] >= 0 and d["base_faults_mb"] >= 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="minor page faults counted by Linux's getrusage")
def test_interleaved_samples_counts_fresh_pages():
    """``interleaved_samples(..., faults=)`` charges each call the pages it touched fresh: writing a new
    anonymous 8 MB mapping faults in its 2,048 pages every time; a call that allocates nothing, almost none."""
    import mmap

    sys.path.insert(0, str(BENCH))
    try:
        from _common import interleaved_samples
    finally:
        sys.path.remove(str(BENCH))
    size = 8 * 2**20

    def touch() -> None:
        with mmap.mmap(-1, size) as m:
            for i in range(0, size, mmap.PAGESIZE):
                m[i] = 1

    faults: dict[str, list[int]] = {}
    times = interleaved_samples({"touch": touch, "nothing": lambda: None}, 3, faults=faults)
    assert set(faults) == set(times) == {"touch", "nothing"}
    assert all(len(v) == 3 for v in (*faults.values(), *times.values()))
    assert min(faults["touch"]) >= size // mmap.PAGESIZE
    assert max(faults["nothing"]) < 50


def test_backbones_official_needs_a_clone(tmp_path):
    """``--official DIR`` without the official repositories under DIR says where it looked."""
    sys.path.insert(0, str(BENCH))
    try:
        import backbones
    finally:
        sys.path.remove(str(BENCH))
    with pytest.raises(FileNotFoundError, match="no clone of the official stgcn code"):
        backbones.official_model("stgcn", tmp_path)
    assert backbones.official_model("stgcn_ssl", tmp_path) is None  # no official counterpart: not timed


def test_gpu_script_runs_every_table_on_cpu():
    """``benchmarks/gpu.py --device cpu``: the GPU benchmark's five tables on tiny sizes, so that the script a
    GPU session runs (rarely, on a 15-minute budget) cannot break unseen."""
    out = _run(str(BENCH / "gpu.py"), "--device", "cpu", "--batch", "2", "--repeats", "1", "--pattern", "stgcn",
               "--compile-models", "", "--sweep", "1", "--sweep-models", "stgcn", "--hour-frames", "300")
    assert "failures: 0" in out and "FAILED" not in out
    for table in ("## 1. backbones", "## 2. torch.compile", "## 3. batch sweep", "## 4. localizer", "## 5. training"):
        assert table in out
    row = next(line for line in out.splitlines() if line.startswith("stgcn "))
    assert row.split()[-1] == "yes"                               # agrees with the CPU float32 / float64 output
    assert out.count("pretrain_v2") == 2 and out.count("localizer_v2") == 2   # fp32 and bf16 steps


def test_spectral_layer_table():
    out = _run(str(BENCH / "spectral.py"), "--quick", "--threads", "1", "--repeats", "1")
    rows = [line for line in out.splitlines() if line.startswith("| eval b1 ")]
    assert len(rows) == 2
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        err_direct, err_spectral = float(cells[-3]), float(cells[-2])
        assert err_spectral < 1e-5 and err_direct < 1e-5          # both are the float64 convolution to rounding


def test_evaluation_table_identical_numbers():
    out = _run(str(BENCH / "evaluate.py"), "--sequences", "20", "--frames", "200", "--repeats", "1")
    assert out.count("vectorised == loop: identical") == 2
    assert "| total" in out


@pytest.mark.parametrize("only", ["loading", pytest.param("pretrain,gpu", marks=pytest.mark.slow)])  # nightly: 80 s
def test_run_all_quick(only):
    out = _run(str(BENCH / "run_all.py"), "--quick", "--only", only)
    assert "FAILED" not in out
    if only == "loading":
        assert "import skelzoo (lazy" in out
    else:
        assert "vs ref MoCo" in out and "target 6" in out
