"""Forward time of every registered backbone: fast path vs the plain per-subset baseline, GFLOP/s.

Input N=8, C=3, T=64, V=25, M=2 (the model's own C/V/M where they differ), float32, eval mode,
``torch.inference_mode``. Each model runs in its own subprocess; the fast path and the baseline
(:mod:`benchmarks._baselines`: plain official-structure forward of the SAME model) are timed round-robin
in that process (medians), so machine load affects both alike. FLOPs from
``torch.utils.flop_counter.FlopCounterMode`` (2 per multiply-add); peak = cores × GHz × FLOPs/cycle.
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


def _one(name: str, threads: int, repeats: int, frames: int, batch: int) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    import skelzoo
    from _baselines import baseline_mode
    from _common import interleaved

    torch.set_num_threads(threads)
    model = skelzoo.load_model(name).eval()
    m = model.num_person or 1
    x = torch.randn(batch, model.in_channels, frames, model.num_joints, m)
    with torch.inference_mode():
        with FlopCounterMode(display=False) as fc:
            fast_out = model(x)
        flops = fc.get_total_flops()
        with baseline_mode():
            base_out = model(x)

        def base():
            with baseline_mode():
                model(x)

        t = interleaved({"fast": lambda: model(x), "base": base}, repeats)
    return {"name": name, "params": sum(p.numel() for p in model.parameters()), "gflop": flops / 1e9,
            "fast_s": t["fast"], "base_s": t["base"], "max_diff": float((fast_out - base_out).abs().max()),
            "scale": float(base_out.abs().max())}


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
    from _common import cpu_peak_gflops

    peak, how = cpu_peak_gflops(threads)
    print(f"backbone forward, N={batch} C=3 T={frames} V=25 M=2, float32, {threads} threads, median of {repeats} "
          f"(fast and baseline interleaved); peak {peak:.0f} GFLOP/s = {how}")
    print(f"{'model':<14} {'params':>10} {'GFLOP':>7} {'base s':>7} {'fast s':>7} {'speedup':>7} "
          f"{'GFLOP/s':>8} {'% peak':>6} {'official s':>10} {'max|diff|':>9} {'rel diff':>9}")
    for r in rows:
        gfs = r["gflop"] / r["fast_s"]
        off = OFFICIAL_S.get(r["name"])
        print(f"{r['name']:<14} {r['params']:>10,} {r['gflop']:>7.1f} {r['base_s']:>7.3f} {r['fast_s']:>7.3f} "
              f"{r['base_s'] / r['fast_s']:>6.2f}x {gfs:>8.1f} {100 * gfs / peak:>5.1f}% "
              f"{(f'{off:.2f}' if off else '-'):>10} {r['max_diff']:>9.1e} "
              f"{r['max_diff'] / max(r.get('scale', 1.0), 1e-30):>9.1e}")


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
