"""Throughput and peak memory of localization inference: whole-sequence vs chunked.

Every measurement runs in a fresh subprocess (``--worker``) so its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that run only. The worker builds the model
(random weights, eval mode), makes a random ``(1, 3, T, 25, 1)`` float32 sequence, runs
``model.localize`` (frame logits + official decoding) and reports frames per second and peak RSS; the
parent compares the logits of the whole and chunked runs and prints a table.

Usage::

    python benchmarks/localize.py                        # short comparison + the one-hour run
    python benchmarks/localize.py --skip-hour --frames 3000 --models agcn_loc_ufusion agcn_loc_simple
    python benchmarks/localize.py --hour-only

Numbers depend on the machine and on other load; the table prints the thread count used.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = ("agcn_loc_ufusion", "agcn_loc_simple", "stgcn_ufusion", "ctrgcn_ufusion")
HOUR_FRAMES = 108_000  # one hour at 30 fps


def _worker(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(ROOT))
    import skelzoo
    import skelzoo.localizers  # noqa: F401
    from skelzoo.localization.chunked import chunked_forward

    torch.manual_seed(0)
    model = skelzoo.build_model(args.model).eval()
    x = torch.randn(1, model.in_channels, args.frames, model.num_joints, 1, generator=torch.Generator().manual_seed(1))
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with torch.no_grad():
        if args.mode == "whole":
            logits = model(x)
        else:
            logits = chunked_forward(model, x, chunk=args.chunk)
    t1 = time.perf_counter()
    from skelzoo.localization.decode import decode
    segs = decode(logits[0], method="official", input_kind="logits")
    t2 = time.perf_counter()
    if args.save:
        np.save(args.save, logits[0].numpy())
    print(json.dumps({
        "model": args.model, "mode": args.mode, "frames": args.frames, "chunk": args.chunk if args.mode == "chunked" else None,
        "threads": args.threads, "forward_s": t1 - t0, "decode_s": t2 - t1, "fps": args.frames / (t2 - t0),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_after_build_mb": rss_model / 1024.0, "segments": len(segs),
    }))


def _run(model: str, frames: int, mode: str, threads: int, chunk: int, save: str | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--model", model, "--frames", str(frames),
           "--mode", mode, "--threads", str(threads), "--chunk", str(chunk)]
    if save:
        cmd += ["--save", save]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{model} {mode} {frames} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(r: dict, diff: str = "") -> str:
    chunk = str(r["chunk"]) if r["chunk"] else "-"
    return (f"| {r['model']} | {r['mode']} | {r['frames']} | {chunk} | {r['fps']:.0f} | {r['peak_rss_mb']:.0f} | "
            f"{r['segments']} | {diff} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    p.add_argument("--frames", type=int, default=3000, help="length of the whole-vs-chunked comparison")
    p.add_argument("--hour-frames", type=int, default=HOUR_FRAMES)
    p.add_argument("--hour-model", default="agcn_loc_ufusion")
    p.add_argument("--chunk", type=int, default=4096)
    p.add_argument("--short-chunk", type=int, default=1024, help="chunk of the short comparison")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-hour", action="store_true")
    p.add_argument("--hour-only", action="store_true")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--mode", choices=("whole", "chunked"), help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        _worker(args)
        return
    import numpy as np

    print(f"threads={args.threads}, cpu_count={os.cpu_count()}, load average={os.getloadavg()[0]:.1f}")
    print("| model | mode | frames | chunk | fps | peak RSS (MB) | segments | max abs diff vs whole |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.hour_only:
            for m in args.models:
                w = _run(m, args.frames, "whole", args.threads, 0, f"{tmp}/{m}_w.npy")
                print(_row(w), flush=True)
                c = _run(m, args.frames, "chunked", args.threads, args.short_chunk, f"{tmp}/{m}_c.npy")
                d = float(np.abs(np.load(f"{tmp}/{m}_w.npy") - np.load(f"{tmp}/{m}_c.npy")).max())
                print(_row(c, f"{d:.2e}"), flush=True)
        if not args.skip_hour:
            h = _run(args.hour_model, args.hour_frames, "chunked", args.threads, args.chunk)
            print(_row(h), flush=True)
            status = "OK" if h["peak_rss_mb"] < 1536 else "OVER"
            print(f"one-hour run ({args.hour_frames} frames): peak RSS {h['peak_rss_mb']:.0f} MB ({status} vs 1.5 GB), "
                  f"{h['fps']:.0f} fps, {h['forward_s'] + h['decode_s']:.0f} s total "
                  f"({h['forward_s']:.0f} s network, {h['decode_s']:.1f} s decoding)")


if __name__ == "__main__":
    main()
