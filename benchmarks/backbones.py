"""Forward time and peak memory of every registered backbone.

Input N=8, C=3, T=64, V=25, M=2 (the model's own C/V/M where they differ), float32, eval mode,
``torch.inference_mode``. Each model runs in its own subprocess so that peak RSS is its own
(``ru_maxrss`` after the runs minus before the model was built). CUDA columns appear when a GPU is
present. Prints a table; never asserts timings.

    python benchmarks/backbones.py [--threads 2] [--repeats 5] [--pattern '*']
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def _one(name: str, threads: int, repeats: int, device: str) -> dict:
    import torch

    import skelzoo

    torch.set_num_threads(threads)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = skelzoo.load_model(name, device=device)
    m = model.num_person or 1
    x = torch.randn(8, model.in_channels, 64, model.num_joints, m, device=device)
    times = []
    with torch.inference_mode():
        model(x)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        for _ in range(repeats):
            t0 = time.perf_counter()
            model(x)
            if device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    out = {"name": name, "device": device, "params": sum(p.numel() for p in model.parameters()),
           "median_s": statistics.median(times), "min_s": min(times)}
    if device == "cuda":
        out["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    else:
        out["peak_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pattern", default="*")
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_one(args.one, args.threads, args.repeats, args.device)))
        return
    import torch

    import skelzoo

    names = [n for n in skelzoo.list_models(args.pattern) if skelzoo.model_info(n)["task"] != "localization"]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"backbone forward, N=8 C=3 T=64 V=25 M=2, float32, {args.threads} threads, median of {args.repeats}")
    print(f"{'model':<16} {'device':<6} {'params':>10} {'median s':>9} {'min s':>8} {'clips/s':>8} {'peak MB':>8}")
    for name in names:
        for dev in devices:
            r = subprocess.run([sys.executable, __file__, "--one", name, "--threads", str(args.threads),
                                "--repeats", str(args.repeats), "--device", dev],
                               capture_output=True, text=True, check=True)
            row = json.loads(r.stdout.strip().splitlines()[-1])
            print(f"{name:<16} {dev:<6} {row['params']:>10,} {row['median_s']:>9.3f} {row['min_s']:>8.3f} "
                  f"{8 / row['median_s']:>8.1f} {row['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
