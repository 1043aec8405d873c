"""Forward time of each backbone as a user runs it: ONE model in a fresh process, official code vs skelzoo.

``benchmarks/backbones.py`` times the fast path, the plain path, the official code and a GEMM round-robin in ONE
process, so that machine load hits them alike. With glibc's default malloc thresholds that process has a
history: whatever ran first (the official forward frees large blocks, which raises glibc's adaptive mmap and
trim thresholds) decides how many pages every later forward gets fresh from the kernel, so its default-malloc
row times neither side as it runs alone. This script times each side in a process of its own that builds the
model and runs it, nothing else: the situation of a user's script or of the official test loop.

Per backbone and round, three fresh processes run one after the other (their order rotates every round, so
no side always follows another): the official model (built from the user's clone, ``--official DIR``, as in
``benchmarks/backbones.py``; without it, skelzoo's plain per-subset path of the same model, labelled
``plain``) under ``torch.no_grad()``, skelzoo's model (``load_model(name)``, random weights) on its fast path
under ``torch.inference_mode()``, and a 2048² float32 GEMM (the faster of the BLAS and oneDNN, as in
``backbones.py``). Each process runs ``--warmup`` untimed calls, then ``--repeats`` timed ones, and reports
their median, its fastest call and the median MB of fresh pages (minor page faults) per call. A cell is the
median over rounds of those process medians; ``(best)`` takes the fastest call of all rounds. The skelzoo
process counts the model's FLOPs on the plain path after its timed calls. The issue-#20 criterion
(``backbones.criterion``) is judged on these same-run figures. The two sides run with different random weights
(that they compute the same function on converted weights is what ``backbones.py`` checks; loading the official
weights here would put the official code into skelzoo's process). Never asserts timings.

    python benchmarks/fresh_process.py [--official DIR] [--rounds 3] [--repeats 10] [--warmup 2]
                                       [--pattern '*'] [--allocator default|tuned|both] [--json FILE]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backbones import GEMM_SIZE, OFFICIAL, criterion, gemm_fns, official_model  # noqa: E402

#: the processes of one round, in the order of round 0 (rotated by one every round)
SIDES = ("official", "fast", "gemm")


@contextlib.contextmanager
def _plain_mode() -> Iterator[None]:
    """skelzoo's plain per-subset path under ``no_grad`` (the stand-in for the official code without ``--official``)."""
    import torch
    from _baselines import baseline_mode

    with torch.no_grad(), baseline_mode():
        yield


def _side(side: str, name: str, threads: int, warmup: int, repeats: int, frames: int, batch: int,
          official: Path | None, allocator: str) -> dict:
    """One process's measurement (see the module docstring): median / fastest seconds, median fresh MB."""
    import torch
    from _common import interleaved_samples, median_mb

    import skelzoo
    from skelzoo.runtime import tune_allocator

    if allocator == "tuned" and not tune_allocator():
        raise SystemExit("--allocator tuned: this C library has no mallopt thresholds (glibc only)")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if side == "gemm":
        t = interleaved_samples(gemm_fns(), repeats, warmup)
        gflop = 2 * GEMM_SIZE ** 3 / 1e9
        return {"gemm_gflops": max(gflop / statistics.median(v) for v in t.values()),
                "gemm_best_gflops": max(gflop / min(v) for v in t.values())}
    if side == "official" and official is not None:
        model = official_model(name, official)
        if model is None:
            raise SystemExit(f"{name}: no official code to compare with")
        c, v, m = 3, 25, 2  # every entry of OFFICIAL is built with its repository's NTU-60 joint config
        ctx = torch.no_grad
    else:
        model = skelzoo.load_model(name).eval()
        c, v, m = model.in_channels, model.num_joints, model.num_person or 1
        ctx = _plain_mode if side == "official" else torch.inference_mode  # no --official: the plain path
    x = torch.randn(batch, c, frames, v, m)

    def forward() -> None:
        with ctx():
            model(x)
    faults: dict[str, list[int]] = {}
    t = interleaved_samples({"f": forward}, repeats, warmup, faults=faults)["f"]
    out = {"s": statistics.median(t), "best_s": min(t)}
    if faults.get("f"):
        out["faults_mb"] = median_mb(faults["f"])
    if side == "fast":  # after the timed calls: counting runs the plain path, which allocates differently
        from backbones import _model_flops
        out["gflop"] = _model_flops(model, x) / 1e9
    return out


def run(names: list[str], rounds: int = 3, repeats: int = 10, warmup: int = 2, threads: int = 2, frames: int = 64,
        batch: int = 8, official: Path | None = None, allocators: tuple[str, ...] = ("default",)) -> list[dict]:
    """One row per backbone and allocator setting, from ``rounds`` × 3 fresh processes each."""
    rows = []
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    for name in names:
        for alloc in allocators:
            got: dict[str, list[dict]] = {s: [] for s in SIDES}
            for r in range(rounds):
                for side in SIDES[r % 3:] + SIDES[:r % 3]:
                    cmd = [sys.executable, __file__, "--side", side, "--one", name, "--threads", str(threads),
                           "--warmup", str(warmup), "--repeats", str(repeats), "--frames", str(frames),
                           "--batch", str(batch), "--allocator", alloc]
                    if official is not None:
                        cmd += ["--official", str(official)]
                    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
                    if p.returncode:
                        raise SystemExit(f"{name} ({side}, {alloc} malloc) failed:\n{p.stderr[-2000:]}")
                    got[side].append(json.loads(p.stdout.strip().splitlines()[-1]))
            off, fast, gemm = got["official"], got["fast"], got["gemm"]
            med = statistics.median
            row = {"name": name, "allocator": alloc, "rounds": rounds, "gflop": fast[0]["gflop"],
                   "fast_s": med(d["s"] for d in fast), "fast_best_s": min(d["best_s"] for d in fast),
                   "reference": "official" if official is not None else "plain",
                   "fast_s_rounds": [d["s"] for d in fast], "reference_s_rounds": [d["s"] for d in off],
                   "gemm_gflops": med(d["gemm_gflops"] for d in gemm),
                   "gemm_best_gflops": max(d["gemm_best_gflops"] for d in gemm)}
            off_s, off_best = med(d["s"] for d in off), min(d["best_s"] for d in off)
            if official is not None:
                row.update(official_s=off_s, official_best_s=off_best)
            row.update(base_s=off_s, base_best_s=off_best)  # the plain path's process without --official
            for key, d in (("fast", fast), ("official" if official is not None else "base", off)):
                if all("faults_mb" in e for e in d):
                    row[f"{key}_faults_mb"] = med(e["faults_mb"] for e in d)
            rows.append(row)
    return rows


def print_table(rows: list[dict], threads: int, repeats: int, frames: int, batch: int) -> None:
    live = any("official_s" in r for r in rows)
    ref = "official" if live else "plain"
    rounds = rows[0]["rounds"] if rows else 0
    print(f"backbone forward, one model per fresh process, N={batch} C=3 T={frames} V=25 M=2, float32, {threads} "
          f"threads; {rounds} rounds of three processes ({ref}, skelzoo fast path, {GEMM_SIZE}² GEMM), median of "
          f"{repeats} calls each; {ref}: no_grad, fast: inference_mode")
    print(f"{'model':<8} {'malloc':<7} {'GFLOP':>6} {ref + ' s':>10} {'fast s':>7} {'fast/' + ref[:3]:>8} {'(best)':>6} "
          f"{'rounds fast/' + ref[:3]:>24} {'GFLOP/s':>7} {'GEMM':>5} {'eff.':>5} {'criterion':>9} {'met':>4} "
          f"{'(best)':>6} {'pf MB fast/' + ref[:3]:>14}")
    for r in rows:
        gfs = r["gflop"] / r["fast_s"]
        per_round = " ".join(f"{o / f:.2f}" for o, f in zip(r["reference_s_rounds"], r["fast_s_rounds"]))
        ref_pf = r.get("official_faults_mb", r.get("base_faults_mb"))
        crit, met, _ = criterion(r)
        met_best = criterion(r, best=True)[1]
        pf = f"{r['fast_faults_mb']:.0f} / {ref_pf:.0f}" if "fast_faults_mb" in r and ref_pf is not None else "-"
        print(f"{r['name']:<8} {r['allocator']:<7} {r['gflop']:>6.1f} {r['base_s']:>10.3f} {r['fast_s']:>7.3f} "
              f"{r['base_s'] / r['fast_s']:>7.2f}x {r['base_best_s'] / r['fast_best_s']:>5.2f}x {per_round:>24} "
              f"{gfs:>7.0f} {r['gemm_gflops']:>5.0f} {100 * gfs / r['gemm_gflops']:>4.0f}% "
              f"{(crit if live else '-'):>9} {(('yes' if met else 'NO') if live else '-'):>4} "
              f"{(('yes' if met_best else 'NO') if live else '-'):>6} {pf:>14}")
    if live:
        for r in rows:
            print(f"  {r['name']} ({r['allocator']} malloc): medians: {criterion(r)[2]}; fastest runs: "
                  f"{criterion(r, best=True)[2]}")
    print(f"{ref} s / fast s = median over rounds of each process's median call; fast/{ref[:3]} = their ratio, "
          f"(best) = fastest {ref} call / fastest fast call of all rounds; rounds = the per-round ratios; GEMM = "
          f"median over rounds of the faster of torch.mm and oneDNN's matmul; eff. = fast GFLOP/s / GEMM; "
          f"pf MB = median MB of fresh pages per call; malloc = glibc's default thresholds in every process, or "
          f"skelzoo.runtime.tune_allocator() in every process (the official one included)"
          + ("" if live else "; without --official no criterion is judged (the plain path is not the official code)"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--official", type=Path, default=None,
                    help="folder with clones of the official repositories (as for benchmarks/backbones.py)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--pattern", default="*")
    ap.add_argument("--allocator", choices=("default", "tuned", "both"), default="default")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--side", choices=SIDES, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_side(args.side, args.one, args.threads, args.warmup, args.repeats, args.frames,
                               args.batch, args.official, args.allocator)))
        return
    if args.rounds < 1 or args.repeats < 1:
        ap.error("--rounds and --repeats must be at least 1")
    import skelzoo

    names = [n for n in skelzoo.list_models(args.pattern) if skelzoo.model_info(n)["task"] != "localization"]
    if args.official is not None:
        names = [n for n in names if n in OFFICIAL]
    if not names:
        ap.error(f"no backbone matches {args.pattern!r}" + (" with official code" if args.official else ""))
    allocators = ("default", "tuned") if args.allocator == "both" else (args.allocator,)
    rows = run(names, args.rounds, args.repeats, args.warmup, args.threads, args.frames, args.batch,
               args.official, allocators)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print_table(rows, args.threads, args.repeats, args.frames, args.batch)


if __name__ == "__main__":
    main()
