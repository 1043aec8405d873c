"""Forward time of every registered backbone: fast path vs the plain per-subset baseline, GFLOP/s.

Input N=8, C=3, T=64, V=25, M=2 (the model's own C/V/M where they differ), float32, eval mode. Each
model runs in its own subprocess; the fast path (under ``torch.inference_mode``) and the baseline
(:mod:`benchmarks._baselines`: plain official-structure forward of the SAME model, under
``torch.no_grad()`` as the official test loops run it) are timed round-robin in that process (medians,
and the ratio of the fastest runs), so machine load affects both alike. FLOPs from
``torch.utils.flop_counter.FlopCounterMode`` on the plain path (2 per multiply-add). A 2048² float32 GEMM
runs in the same round-robin twice, through the BLAS (``torch.mm``) and through oneDNN's matmul (the route the
fast paths take, :mod:`skelzoo.blocks.gemm`); the machine's GEMM rate is the faster of the two (on the AMD
EPYC machine oneDNN's is about twice the BLAS one), so every backbone's *efficiency* (fast GFLOP/s / GEMM
GFLOP/s) is a ratio of two rates measured under the same load.

**The official code, live** (``--official DIR``): ``DIR`` holds the user's own clones of the official
repositories (``DIR/st-gcn`` = yysijie/st-gcn, ``DIR/2s-AGCN`` = lshiwjx/2s-AGCN, ``DIR/CTR-GCN`` =
Uason-Chen/CTR-GCN, ``DIR/MS-G3D`` = kenziyuliu/MS-G3D; skelzoo ships none of their code). Each official
model is built with its repository's NTU-60 joint constructor (:data:`OFFICIAL`), its random weights are
converted into the skelzoo model (``convert_checkpoint(..., source="official")``, so both compute the same
function: the table prints the max relative logit difference), and it runs under ``torch.no_grad()`` (as
its test loop does) in the same round-robin as the fast path, the plain path and the GEMM.

Criterion per backbone (issue #20): the fast path at >= 1.5x the official time, or, where the FLOPs make that
impossible, >= 85 % of the GEMM rate. 1.5x the official speed needs ``GFLOP / (official_s / 1.5)`` GFLOP/s;
when that exceeds 85 % of this run's fastest GEMM rate the 85 % criterion applies, else the 1.5x one, judged
on the same-run fast/official ratio. Without ``--official`` the official time is the reference file's live
figure from ANOTHER run (``OFFICIAL_LIVE_S``), printed as context only, and the criterion is judged on the
same-run fast/plain ratio (the plain path restates the official forward op by op; it is not the official
code and may be slower than it). Also checks that the fast logits equal the baseline's (max abs diff).
The **cached** column times the fast path of a deep copy of the model inside ``skelzoo.cached_weights`` (weights
derived from the parameters kept between calls), in the same round-robin, after checking that it gives the
fast path's bits; it is reported, not judged (a user's plain ``model(x)`` does not run inside that block).
**Page faults**: each process also counts the minor page faults of every timed call (``getrusage``; Linux and
macOS), printed as the median MB of fresh pages per forward of the fast path and of the official code
(plain path without ``--official``): the cost glibc's default malloc thresholds add, which depends on what
ran before in the process. ``--allocator thp`` runs default malloc with PyTorch's own switch
``THP_MEM_ALLOC_ENABLE=1`` (transparent huge pages for its CPU tensors of 2 MB and more, read once when torch
starts, so it is set in the subprocess's environment): the other process-wide remedy besides
``tune_allocator``. ``benchmarks/fresh_process.py`` times each side alone, in fresh processes of its own, instead
(what glibc's default thresholds cost a process that runs one model and nothing else). Never asserts timings.

    python benchmarks/backbones.py [--threads 2] [--repeats 5] [--pattern '*'] [--frames 64] [--official DIR]
                                   [--allocator default|tuned|thp|both|all] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: the official code's single-forward CPU seconds at batch 8, T = 64, M = 2, fp32, 2 threads, ``no_grad``,
#: measured LIVE in another run (shared/reference/backbones.md §1): for calibration context only
OFFICIAL_LIVE_S = {"stgcn": 0.410, "agcn": 0.475, "ctrgcn": 0.485, "aagcn": 0.590, "msg3d": 2.011}
#: the allocator settings of ``--allocator both`` / ``all`` (one benchmark process and table row each)
ALLOCATORS = {"both": ("default", "tuned"), "all": ("default", "tuned", "thp")}
#: how to build each official model from a clone of its repository: (folder under --official, module, class,
#: constructor arguments of the repository's NTU-60 joint config)
OFFICIAL: dict[str, tuple[str, str, str, dict]] = {
    "stgcn": ("st-gcn", "net.st_gcn", "Model",
              dict(in_channels=3, num_class=60, edge_importance_weighting=True,
                   graph_args={"layout": "ntu-rgb+d", "strategy": "spatial"})),
    "agcn": ("2s-AGCN", "model.agcn", "Model",
             dict(num_class=60, num_point=25, num_person=2, graph="graph.ntu_rgb_d.Graph",
                  graph_args={"labeling_mode": "spatial"})),
    "aagcn": ("2s-AGCN", "model.aagcn", "Model",
              dict(num_class=60, num_point=25, num_person=2, graph="graph.ntu_rgb_d.Graph",
                   graph_args={"labeling_mode": "spatial"})),
    "ctrgcn": ("CTR-GCN", "model.ctrgcn", "Model",
               dict(num_class=60, num_point=25, num_person=2, graph="graph.ntu_rgb_d.Graph",
                    graph_args={"labeling_mode": "spatial"})),
    "msg3d": ("MS-G3D", "model.msg3d", "Model",
              dict(num_class=60, num_point=25, num_person=2, num_gcn_scales=13, num_g3d_scales=6,
                   graph="graph.ntu_rgb_d.AdjMatrixGraph")),
}
GEMM_SIZE = 2048
#: the 2048² GEMM rate of this machine type when quieter (issue #20: 210-256 GFLOP/s, the upper value). The
#: CHOICE of criterion (is 1.5x possible at all?) is a property of the machine, so it uses the larger of this
#: and the run's fastest GEMM; under heavy load the run's own GEMM rate would make every 1.5x look impossible.
#: Whether a criterion is MET is judged on same-run measurements only.
GEMM_QUIET_GFLOPS = 256.0


def gemm_fns(size: int = GEMM_SIZE) -> dict:
    """The machine-rate yardstick: ``{"gemm": torch.mm, "gemm_onednn": oneDNN's matmul}`` callables on one
    ``size``² float32 product (oneDNN's only where this build has it: the route the fast paths take)."""
    import torch

    from skelzoo.blocks.gemm import onednn_linear_available

    a, b = torch.randn(size, size), torch.randn(size, size)
    bt = b.t().contiguous()
    fns = {"gemm": lambda: torch.mm(a, b)}
    if onednn_linear_available():
        fns["gemm_onednn"] = lambda: torch.ops.mkldnn._linear_pointwise(a, bt, None, "none", [], "")
    return fns


def _model_flops(model, x) -> int:
    """FLOPs of the model's math, counted on the plain path: its standard ops are all known to
    ``FlopCounterMode`` (the fast paths' ``bmm(out=)`` / ``baddbmm_`` are not, so counting them undercounts)."""
    import torch
    from _baselines import baseline_mode
    from torch.utils.flop_counter import FlopCounterMode

    grads = [p.requires_grad for p in model.parameters()]
    model.requires_grad_(False)  # the counter's module tracker hooks autograd
    try:
        with torch.no_grad(), baseline_mode(), FlopCounterMode(display=False) as fc:
            model(x)
    finally:
        for p, g in zip(model.parameters(), grads):
            p.requires_grad_(g)
    return fc.get_total_flops()


def official_model(name: str, root: Path):
    """The official implementation of ``name`` from the user's clone under ``root`` (eval mode, random
    weights), or None when ``name`` has no entry in :data:`OFFICIAL`. Imports the repository's own modules,
    so call it in a fresh process (their package names, ``model`` / ``graph`` / ``net``, collide)."""
    import importlib

    if name not in OFFICIAL:
        return None
    folder, module, cls, kwargs = OFFICIAL[name]
    repo = (root / folder).resolve()
    if not repo.is_dir():
        raise FileNotFoundError(f"--official: no clone of the official {name} code at {repo}")
    os.chdir(repo)  # the repositories' graph modules put '../' / '' on sys.path: they expect to run from here
    sys.path.insert(0, str(repo))
    model = getattr(importlib.import_module(module), cls)(**kwargs).eval()
    if name == "agcn":  # model/agcn.py moves its graph with `self.A.cuda(x.get_device())` in every forward
        _cpu_cuda_shim()
    return model


def _cpu_cuda_shim() -> None:
    """Make ``Tensor.cuda(-1)`` (what ``x.get_device()`` gives for a CPU tensor) a no-op in this process:
    the official 2s-AGCN forward's only CPU incompatibility. Costs nothing measurable (no copy)."""
    import torch

    cuda = torch.Tensor.cuda

    def cuda_or_stay(self, device=None, *args, **kwargs):
        if device == -1 or (device is None and not torch.cuda.is_available()):
            return self
        return cuda(self, device, *args, **kwargs)
    torch.Tensor.cuda = cuda_or_stay  # type: ignore[method-assign]


def _one(name: str, threads: int, repeats: int, frames: int, batch: int, official: Path | None = None,
         allocator: str = "default") -> dict:
    import contextlib
    import copy
    import statistics

    import torch
    from _baselines import baseline_mode
    from _common import interleaved_samples, median_mb

    import skelzoo
    from skelzoo.runtime import tune_allocator

    if allocator == "thp" and os.environ.get("THP_MEM_ALLOC_ENABLE") != "1":
        raise SystemExit("--allocator thp: THP_MEM_ALLOC_ENABLE=1 must be in the environment before torch starts")
    if allocator == "tuned" and not tune_allocator():
        raise SystemExit("--allocator tuned: this C library has no mallopt thresholds (glibc only)")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    off_model = official_model(name, official) if official is not None else None
    if off_model is not None:  # the same function on both sides: the official random weights, converted
        model = skelzoo.convert_checkpoint(off_model.state_dict(), name, source="official").eval()
    else:
        model = skelzoo.load_model(name).eval()
    m = model.num_person or 1
    x = torch.randn(batch, model.in_channels, frames, model.num_joints, m)
    flops = _model_flops(model, x)
    def fast() -> torch.Tensor:
        with torch.inference_mode():
            return model(x)

    def base() -> torch.Tensor:  # the official test loops run the model under no_grad, not inference mode
        with torch.no_grad(), baseline_mode():
            return model(x)

    from skelzoo.blocks.gemm import set_onednn_linear

    def fast_blas() -> torch.Tensor:  # the fast path with its GEMMs on the BLAS (before the oneDNN route)
        old = set_onednn_linear(False)
        try:
            return fast()
        finally:
            set_onednn_linear(old)

    cached_model = copy.deepcopy(model)  # the fast path inside skelzoo.cached_weights, open for the whole run
    stack = contextlib.ExitStack()
    stack.enter_context(skelzoo.cached_weights(cached_model))

    def fast_cached() -> torch.Tensor:
        with torch.inference_mode():
            return cached_model(x)

    gemms = gemm_fns()
    fns = {"fast": fast, "base": base, **gemms, "fast_cached": fast_cached}
    if "gemm_onednn" in gemms:
        fns["fast_blas"] = fast_blas
    fast_out, base_out = fast(), base()
    row = {}
    if off_model is not None:
        def off() -> torch.Tensor:
            with torch.no_grad():
                return off_model(x)
        fns["official"] = off
        off_out = off()
        row["official_rel_diff"] = float((fast_out - off_out).abs().max() / off_out.abs().max())
    if not torch.equal(fast_cached(), fast_out):
        raise SystemExit(f"{name}: the fast path inside cached_weights does not give the fast path's bits")
    pf: dict[str, list[int]] = {}
    t = interleaved_samples(fns, repeats, faults=pf)
    for k in ("fast", "official", "base"):  # median fresh pages per call, as MB
        if k in pf:
            row[f"{k}_faults_mb"] = median_mb(pf[k])
    stack.close()
    gemm_gflop = 2 * GEMM_SIZE ** 3 / 1e9
    if off_model is not None:
        row.update(official_s=statistics.median(t["official"]), official_best_s=min(t["official"]))
    # the machine's GEMM rate: the faster of the two routes (BLAS via torch.mm, oneDNN), each median / fastest
    gemm_keys = [k for k in ("gemm", "gemm_onednn") if k in t]
    if "fast_blas" in t:
        row.update(fast_blas_s=statistics.median(t["fast_blas"]))
    row.update(gemm_blas_gflops=gemm_gflop / statistics.median(t["gemm"]),
               gemm_onednn_gflops=gemm_gflop / statistics.median(t["gemm_onednn"]) if "gemm_onednn" in t else None)
    return {"name": name, "params": sum(p.numel() for p in model.parameters()), "gflop": flops / 1e9,
            "fast_s": statistics.median(t["fast"]), "base_s": statistics.median(t["base"]),
            "fast_best_s": min(t["fast"]), "base_best_s": min(t["base"]),
            "cached_s": statistics.median(t["fast_cached"]), "cached_best_s": min(t["fast_cached"]),
            "gemm_gflops": max(gemm_gflop / statistics.median(t[k]) for k in gemm_keys),
            "gemm_best_gflops": max(gemm_gflop / min(t[k]) for k in gemm_keys),
            "max_diff": float((fast_out - base_out).abs().max()), "scale": float(base_out.abs().max()), **row}


def run(threads: int = 2, repeats: int = 5, pattern: str = "*", frames: int = 64, batch: int = 8,
        names: list[str] | None = None, official: Path | None = None, allocator: str = "both") -> list[dict]:
    """One row per backbone and allocator setting (``allocator``: ``default``, ``tuned``, ``thp``, ``both``
    (default and tuned) or ``all`` (the three): the whole process, the official code included, runs with glibc's
    default malloc thresholds, with :func:`skelzoo.runtime.tune_allocator`, or with the default thresholds and
    PyTorch's ``THP_MEM_ALLOC_ENABLE=1``)."""
    import skelzoo

    if names is None:
        names = [n for n in skelzoo.list_models(pattern) if skelzoo.model_info(n)["task"] != "localization"]
        if official is not None:
            names = [n for n in names if n in OFFICIAL]
    rows = []
    for name in names:
        for alloc in ALLOCATORS.get(allocator, (allocator,)):
            cmd = [sys.executable, __file__, "--one", name, "--threads", str(threads), "--repeats", str(repeats),
                   "--frames", str(frames), "--batch", str(batch), "--allocator", alloc]
            if official is not None:
                cmd += ["--official", str(official)]
            # huge pages only in the thp process (a THP_MEM_ALLOC_ENABLE=1 of the caller's shell would change the others)
            env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
            if alloc == "thp":
                env["THP_MEM_ALLOC_ENABLE"] = "1"
            r = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if r.returncode:
                print(f"{name} ({alloc} malloc): failed\n{r.stderr[-2000:]}", file=sys.stderr)
                continue
            row = json.loads(r.stdout.strip().splitlines()[-1])
            row["allocator"] = alloc
            rows.append(row)
    return rows


def criterion(r: dict, best: bool = False) -> tuple[str, bool, str]:
    """Which issue-#20 criterion applies to row ``r`` and whether it is met, with the arithmetic.

    ``best``: judge on the fastest runs (fastest fast / fastest plain / fastest GEMM: the samples least
    disturbed by other load) instead of the medians. With the official code timed live in the same run the
    speed-up is fast/official and the GEMM limit is this run's fastest GEMM; otherwise fast/plain against
    the reference file's figure (another run) and the quiet GEMM rate of issue #20."""
    live = "official_s" in r
    fast, base = (r["fast_best_s"], r["base_best_s"]) if best else (r["fast_s"], r["base_s"])
    if live:
        base = r["official_best_s"] if best else r["official_s"]
    vs = "official (live)" if live else "plain"
    off = base if live else OFFICIAL_LIVE_S.get(r["name"])
    gemm = r["gemm_best_gflops"] if best else r["gemm_gflops"]
    eff = r["gflop"] / fast / gemm
    speedup = base / fast
    if off is None:
        return "-", eff >= 0.85 or speedup >= 1.5, f"no official reference; {speedup:.2f}x plain, {100 * eff:.0f}% GEMM"
    need = r["gflop"] / (off / 1.5)
    limit = r["gemm_best_gflops"] if live else max(GEMM_QUIET_GFLOPS, r["gemm_best_gflops"])
    if need > 0.85 * limit:
        return ("85% GEMM", eff >= 0.85,
                f"1.5x needs {r['gflop']:.1f}/({off:.3f}/1.5) = {need:.0f} GFLOP/s > 85% of {limit:.0f}; "
                f"at {100 * eff:.0f}% of this run's GEMM {gemm:.0f}")
    return ("1.5x", speedup >= 1.5,
            f"1.5x needs {r['gflop']:.1f}/({off:.3f}/1.5) = {need:.0f} GFLOP/s <= 85% of {limit:.0f} "
            f"({100 * need / limit:.0f}% of it); fast/{vs} {speedup:.2f}x")


def _faults(r: dict) -> str:
    """The row's ``fast / official`` (or ``fast / plain``) median MB of fresh pages per forward, or ``-``."""
    other = r.get("official_faults_mb", r.get("base_faults_mb"))
    if "fast_faults_mb" not in r or other is None:
        return "-"
    return f"{r['fast_faults_mb']:.0f} / {other:.0f}"


def print_table(rows: list[dict], threads: int, repeats: int, frames: int, batch: int) -> None:
    from _common import cpu_peak_gflops

    peak, how = cpu_peak_gflops(threads)
    live = any("official_s" in r for r in rows)
    print(f"backbone forward, N={batch} C=3 T={frames} V=25 M=2, float32, {threads} threads, median of {repeats} "
          f"(fast, plain{', the official code' if live else ''} and a {GEMM_SIZE}² GEMM interleaved in one process "
          f"per backbone; fast: inference_mode, plain{' and official' if live else ''}: no_grad); nominal peak "
          f"{peak:.0f} GFLOP/s = {how}")
    print(f"{'model':<8} {'malloc':<7} {'GFLOP':>6} {'official s':>10} {'plain s':>7} {'BLAS s':>6} {'fast s':>7} {'fast/off':>8} {'(best)':>6} "
          f"{'cached s':>8} {'cach/off':>8} {'fast/plain':>10} {'plain/off':>9} {'GFLOP/s':>7} {'BLAS':>5} {'oneDNN':>6} {'GEMM':>5} {'eff.':>5} "
          f"{'(best)':>6} "
          f"{'criterion':>9} {'met':>4} {'(best)':>6} {'diff plain':>10} {'diff off':>8} {'pf MB fast/off':>14}")
    for r in rows:
        gfs = r["gflop"] / r["fast_s"]
        if "official_s" in r:
            off, off_best, tag = r["official_s"], r["official_best_s"], "live"
        else:
            off, off_best, tag = OFFICIAL_LIVE_S.get(r["name"]), None, "ref"
        crit, met, _ = criterion(r)
        met_best = criterion(r, best=True)[1]
        eff_best = r["gflop"] / r["fast_best_s"] / r["gemm_best_gflops"]
        f_off = f"{off / r['fast_s']:.2f}x" if off and tag == "live" else "-"
        f_off_best = f"{off_best / r['fast_best_s']:.2f}x" if off_best else "-"
        offs = f"{off:.3f} {tag}" if off else "-"
        d_off = f"{r['official_rel_diff']:.1e}" if "official_rel_diff" in r else "-"
        plain_off = f"{r['base_s'] / off:.2f}" if off else "-"
        blas = f"{r['fast_blas_s']:.3f}" if r.get("fast_blas_s") else "-"
        cached = f"{r['cached_s']:.3f}" if r.get("cached_s") else "-"
        c_off = f"{off / r['cached_s']:.2f}x" if off and tag == "live" and r.get("cached_s") else "-"
        print(f"{r['name']:<8} {r.get('allocator', 'default'):<7} {r['gflop']:>6.1f} {offs:>10} {r['base_s']:>7.3f} {blas:>6} {r['fast_s']:>7.3f} {f_off:>8} "
              f"{f_off_best:>6} {cached:>8} {c_off:>8} {r['base_s'] / r['fast_s']:>9.2f}x {plain_off:>9} "
              f"{gfs:>7.0f} {r.get('gemm_blas_gflops') or 0:>5.0f} {r.get('gemm_onednn_gflops') or 0:>6.0f} "
              f"{r['gemm_gflops']:>5.0f} {100 * gfs / r['gemm_gflops']:>4.0f}% {100 * eff_best:>5.0f}% "
              f"{crit:>9} {('yes' if met else 'NO'):>4} {('yes' if met_best else 'NO'):>6} "
              f"{r['max_diff'] / max(r.get('scale', 1.0), 1e-30):>10.1e} {d_off:>8} {_faults(r):>14}")
    for r in rows:
        print(f"  {r['name']} ({r.get('allocator', 'default')} malloc): medians: {criterion(r)[2]}; fastest runs: {criterion(r, best=True)[2]}")
    print("official s: 'live' = the official code timed in this run (same process, interleaved); 'ref' = the "
          "reference file's live figure from ANOTHER run (context only, no ratio is taken against it); "
          "BLAS s = the fast path with its GEMMs on the BLAS instead of oneDNN (skelzoo.blocks.gemm switched off); "
          "fast/off = median official / median fast, (best) = fastest official / fastest fast; cached s = the fast "
          "path inside skelzoo.cached_weights (derived inference weights reused between calls; a separate copy of "
          "the model in the same round-robin; reported, not judged), cach/off = median official / median cached; "
          "fast/plain = "
          "median plain / median fast; plain/off = how this run's plain path compares with the official time; "
          "GFLOP = the model's math counted on the plain path; BLAS / oneDNN = median 2048² fp32 GEMM GFLOP/s "
          "through torch.mm / oneDNN's matmul in the same round-robin, GEMM = the faster; eff. = fast GFLOP/s / GEMM GFLOP/s ((best): fastest fast run vs fastest GEMM run); "
          "diff plain / diff off = max |fast - plain| / max |plain| and max |fast - official| / max |official|; "
          "malloc = the whole process (official code included) with glibc's default malloc thresholds or with "
          "skelzoo.runtime.tune_allocator() (large freed blocks kept for reuse: no fresh zeroed pages per "
          "forward; the skelzoo CLI's setting) or, thp, the default thresholds with PyTorch's THP_MEM_ALLOC_ENABLE=1; "
          "pf MB fast/off = median MB of fresh pages (minor page faults) per forward of the fast path / the "
          "official code (the plain path without --official)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pattern", default="*")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--official", type=Path, default=None,
                    help="folder with clones of the official repositories (st-gcn, 2s-AGCN, CTR-GCN, MS-G3D): "
                         "time the official code live in the same run")
    ap.add_argument("--allocator", choices=("default", "tuned", "thp", "both", "all"), default="both",
                    help="the benchmark processes' allocator: glibc's default malloc thresholds, tuned "
                         "(skelzoo.runtime.tune_allocator), thp (default thresholds + THP_MEM_ALLOC_ENABLE=1), "
                         "both (default and tuned: two rows per backbone) or all (the three)")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_one(args.one, args.threads, args.repeats, args.frames, args.batch, args.official,
                              args.allocator)))
        return
    rows = run(args.threads, args.repeats, args.pattern, args.frames, args.batch, official=args.official,
               allocator=args.allocator)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print_table(rows, args.threads, args.repeats, args.frames, args.batch)


if __name__ == "__main__":
    main()
