"""Forward time of every registered backbone: fast path vs the plain per-subset baseline, GFLOP/s.

Input N=8, C=3, T=64, V=25, M=2 (the model's own C/V/M where they differ), float32, eval mode. Each
model runs in its own subprocess; the fast path (under ``torch.inference_mode``) and the baseline
(:mod:`benchmarks._baselines`: plain official-structure forward of the SAME model, under
``torch.no_grad()`` as the official test loops run it) are timed round-robin in that process (medians,
and the ratio of the fastest runs), so machine load affects both alike. FLOPs from
``torch.utils.flop_counter.FlopCounterMode`` on the plain path (2 per multiply-add); peak = cores × GHz ×
FLOPs/cycle.
Also checks that the fast logits equal the baseline's (max abs diff). Never asserts timings.

    python benchmarks/backbones.py [--threads 2] [--repeats 5] [--pattern '*'] [--frames 64]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: official single-forward CPU seconds at batch 8, T = 64, 2 threads (backbones.md §1)
OFFICIAL_S = {"stgcn": 0.69, "ctrgcn": 1.15, "agcn": 0.97, "aagcn": 1.11, "msg3d": 2.87}


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


def _one(name: str, threads: int, repeats: int, frames: int, batch: int) -> dict:
    import statistics

    import torch
    from _baselines import baseline_mode
    from _common import interleaved_samples

    import skelzoo

    torch.set_num_threads(threads)
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

    fast_out, base_out = fast(), base()
    t = interleaved_samples({"fast": fast, "base": base}, repeats)
    return {"name": name, "params": sum(p.numel() for p in model.parameters()), "gflop": flops / 1e9,
            "fast_s": statistics.median(t["fast"]), "base_s": statistics.median(t["base"]),
            "fast_best_s": min(t["fast"]), "base_best_s": min(t["base"]),
            "max_diff": float((fast_out - base_out).abs().max()), "scale": float(base_out.abs().max())}


def run(threads: int = 2, repeats: int = 5, pattern: str = "*", frames: int = 64, batch: int = 8,
        names: list[str] | None = None) -> list[dict]:
    import skelzoo

    if names is None:
        names = [n for n in skelzoo.list_models(pattern) if skelzoo.model_info(n)["task"] != "localization"]
    rows = []
    for name in names:
        r = subprocess.run([sys.executable, __file__, "--one", name, "--threads", str(threads), "--repeats",
                            str(repeats), "--frames", str(frames), "--batch", str(batch)],
                           capture_output=True, text=True)
        if r.returncode:
            print(f"{name}: failed\n{r.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return rows


def print_table(rows: list[dict], threads: int, repeats: int, frames: int, batch: int) -> None:
    from _common import cpu_peak_gflops, measured_gemm_gflops

    peak, how = cpu_peak_gflops(threads)
    gemm = measured_gemm_gflops(threads)
    print(f"backbone forward, N={batch} C=3 T={frames} V=25 M=2, float32, {threads} threads, median of {repeats} "
          f"(fast and baseline interleaved; fast: inference_mode, baseline: no_grad); "
          f"nominal peak {peak:.0f} GFLOP/s = {how}; measured 2048² GEMM {gemm:.0f} GFLOP/s")
    print(f"{'model':<14} {'params':>10} {'GFLOP':>7} {'base s':>7} {'fast s':>7} {'speedup':>7} {'best':>6} "
          f"{'GFLOP/s':>8} {'% peak':>6} {'% GEMM':>6} {'official s':>10} {'max|diff|':>9} {'rel diff':>9}")
    for r in rows:
        gfs = r["gflop"] / r["fast_s"]
        off = OFFICIAL_S.get(r["name"])
        best = r["base_best_s"] / r["fast_best_s"] if "fast_best_s" in r else float("nan")
        print(f"{r['name']:<14} {r['params']:>10,} {r['gflop']:>7.1f} {r['base_s']:>7.3f} {r['fast_s']:>7.3f} "
              f"{r['base_s'] / r['fast_s']:>6.2f}x {best:>5.2f}x {gfs:>8.1f} {100 * gfs / peak:>5.1f}% {100 * gfs / gemm:>5.1f}% "
              f"{(f'{off:.2f}' if off else '-'):>10} {r['max_diff']:>9.1e} "
              f"{r['max_diff'] / max(r.get('scale', 1.0), 1e-30):>9.1e}")
    print("speedup = median base / median fast; best = fastest base run / fastest fast run (least disturbed by "
          "other load); GFLOP = the model's math counted on the plain path; official s = the official code "
          "at this setting as recorded in shared/reference/backbones.md §1 (another run, for scale only)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pattern", default="*")
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_one(args.one, args.threads, args.repeats, args.frames, args.batch)))
        return
    rows = run(args.threads, args.repeats, args.pattern, args.frames, args.batch)
    print_table(rows, args.threads, args.repeats, args.frames, args.batch)


if __name__ == "__main__":
    main()
