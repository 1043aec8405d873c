"""Run every benchmark and print one table per performance target (ratios, not absolute claims).

Targets, numbered as in issue #9: (1) backbone inference fast vs plain per-subset baseline + GFLOP/s
(benchmarks/backbones.py); (2) localizer throughput on one hour of skeleton (benchmarks/localize.py);
(3) evaluation: decode + segment mAP vs plain loops (benchmarks/evaluate.py); (4) pretraining clips/s
vs the MoCo design + the localization training step (benchmarks/pretrain.py); (5) loading: import /
pretrained load times (benchmarks/loading.py); (6) GPU (benchmarks/gpu.py; says so and moves on
without CUDA). ``--quick`` shrinks every workload for a smoke run (minutes, not tens of them).
Run under ``nice`` on a shared machine; every ratio is measured within one process, interleaved.

    python benchmarks/run_all.py [--quick] [--only backbones,pretrain,evaluate,loading,localize] [--official DIR]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def _section(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small workloads: a smoke run")
    ap.add_argument("--only", default="backbones,localize,evaluate,pretrain,loading,gpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--official", type=Path, default=None,
                    help="clones of the official repositories: time the official code live in target 1")
    args = ap.parse_args()
    only = set(args.only.split(","))
    q = args.quick
    failed = []
    t0 = time.perf_counter()
    if "backbones" in only:
        _section("target 1: backbone inference (fast / plain per-subset baseline / the official code with --official)")
        import backbones as bb

        frames, reps = (16, 2) if q else (64, 7)
        names = ["stgcn", "agcn"] if q else None  # None: every registered backbone
        rows = bb.run(args.threads, reps, frames=frames, batch=8, names=names, official=args.official)
        bb.print_table(rows, args.threads, reps, frames, 8)
        if not rows or (names is not None and len(rows) != len(names)):
            failed.append("backbones")
    if "pretrain" in only:
        _section("target 4: training steps (pretraining clips/s, localization fwd+bwd fast / plain)")
        import pretrain as pt
        import torch

        torch.set_num_threads(args.threads)
        b, f, lf, reps = (4, 32, 48, 1) if q else (8, 64, 192, 9)
        pt.print_tables(pt.pretrain_rows(b, f, 32, reps, queue=1024 if q else 4096), pt.loc_rows(b, lf, reps),
                        b, f, 32)
        if not q:  # the example configs' training steps, before/after issue #20 (1 thread, as the configs)
            torch.set_num_threads(1)
            pt.print_steps(pt.step_rows(7), 1, 7)
            torch.set_num_threads(args.threads)
    for name, script, quick_args, full_args in (
            ("evaluate", "evaluate.py", ["--sequences", "50", "--frames", "300", "--repeats", "1"], []),
            ("localize", "localize.py", ["--help"], []),
            ("gpu", "gpu.py", ["--repeats", "2", "--pattern", "stgcn"], [])):
        if name not in only:
            continue
        _section({"evaluate": "target 3: evaluation (decode + segment mAP vs plain loops)",
                  "localize": "target 2: localizer throughput (one hour of 30 fps skeleton, chunked)",
                  "gpu": "target 6: GPU (float32 / bf16 autocast / torch.compile vs CPU)"}[name])
        if name == "localize" and q:
            print("(skipped in --quick)")
            continue
        r = subprocess.run([sys.executable, str(HERE / script), *(quick_args if q else full_args)])
        if r.returncode:
            failed.append(name)
    if "loading" in only:
        _section("target 5: loading (import / pretrained load vs targets)")
        import loading

        loading.print_table(loading.run(1 if q else 3))
    print(f"\nrun_all: {time.perf_counter() - t0:.0f} s" + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
