"""Throughput and peak memory of localization inference: whole-sequence vs chunked (exact / windowed).

Every measurement runs in a fresh subprocess (``--worker``) so its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that run only. The worker builds the model
(eval mode; random weights, or the released ones for a ``name.tag`` such as
``agcn_loc_ufusion.bandai_w32``), makes a ``(1, 3, T, 25, 1)`` float32 sequence (``--input random``:
Gaussian noise; ``synth``: the procedural example motion of :mod:`skelzoo.data.synth` repeated to T
frames), computes the frame logits whole or chunked (``chunked``: exact mode, the default of
``chunked_forward``; ``windowed``: ``exact=False``, window-level statistics), decodes them (official
decoder) and reports frames per second and peak RSS; the parent compares the logits with the whole run
and prints a table.

``--compare`` instead times whole / chunked exact / chunked windowed interleaved in ONE process (median of
``--repeats``, so background load hits all three alike) and prints their max abs logit differences and
time ratios.

Usage::

    python benchmarks/localize.py                        # short comparison + the one-hour run
    python benchmarks/localize.py --skip-hour --frames 3000 --models agcn_loc_ufusion agcn_loc_simple
    python benchmarks/localize.py --hour-only --hour-model agcn_loc_ufusion.bandai_w32 --input synth
    python benchmarks/localize.py --compare --models agcn_loc_ufusion.bandai_w32 --input synth \
        --frames 2610 --short-chunk 1024

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
sys.path.insert(0, str(ROOT))

from skelzoo.models import DEFAULT_LOCALIZER  # noqa: E402  (the bundled default: offline)

DEFAULT_MODELS = ("agcn_loc_ufusion", "agcn_loc_simple", "stgcn_ufusion", "ctrgcn_ufusion")
HOUR_FRAMES = 108_000  # one hour at 30 fps


def _model_and_input(name: str, frames: int, kind: str):
    """Eval-mode model (released weights for ``name.tag``) and a ``(1, C, frames, V, 1)`` input."""
    import torch

    sys.path.insert(0, str(ROOT))
    import skelzoo
    import skelzoo.models  # noqa: F401

    torch.manual_seed(0)
    model = (skelzoo.load_model(name, pretrained=True) if "." in name else skelzoo.build_model(name)).eval()
    if kind == "random":
        g = torch.Generator().manual_seed(1)
        x = torch.randn(1, model.in_channels, frames, model.num_joints, 1, generator=g)
    else:
        from skelzoo.data.synth import EXAMPLE_SCRIPT, synthesize
        from skelzoo.localization.pipeline import prepare_input

        seconds = sum(d for _, d in EXAMPLE_SCRIPT)
        reps = max(1, -(-frames // int(seconds * 30)))
        seq, _ = synthesize(list(EXAMPLE_SCRIPT) * reps, seed=1)
        x = prepare_input(seq, model)[:, :, :frames].contiguous()
        if x.shape[2] < frames:
            raise RuntimeError(f"synthesised {x.shape[2]} < {frames} frames")
    return model, x


def _logits(model, x, mode: str, chunk: int, cache_mb: float | None = None):
    from skelzoo.localization.chunked import DEFAULT_CACHE_MB, chunked_forward

    if mode == "whole":
        return model(x)
    return chunked_forward(model, x, chunk=chunk, exact=mode == "chunked",
                           cache_mb=DEFAULT_CACHE_MB if cache_mb is None else cache_mb)


def _worker(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    if args.allocator == "tuned":
        from skelzoo.runtime import tune_allocator
        tune_allocator()
    torch.set_num_threads(args.threads)
    model, x = _model_and_input(args.model, args.frames, args.input)
    rss_model = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    with torch.no_grad():
        logits = _logits(model, x, args.mode, args.chunk, args.cache_mb)
    t1 = time.perf_counter()
    from skelzoo.localization.decode import decode
    segs = decode(logits[0], method="official", input_kind="logits")
    t2 = time.perf_counter()
    if args.save:
        np.save(args.save, logits[0].numpy())
    print(json.dumps({
        "model": args.model, "mode": args.mode, "cache_mb": args.cache_mb, "frames": args.frames, "chunk": args.chunk if args.mode != "whole" else None,
        "threads": args.threads, "forward_s": t1 - t0, "decode_s": t2 - t1, "fps": args.frames / (t2 - t0),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "rss_after_build_mb": rss_model / 1024.0, "segments": len(segs), "allocator": args.allocator,
    }))


def _compare(args: argparse.Namespace) -> None:
    """Whole / chunked exact / chunked windowed, interleaved in this process: diffs and median times."""
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import interleaved

    torch.set_num_threads(args.threads)
    print(f"threads={args.threads}, cpu_count={os.cpu_count()}, load average={os.getloadavg()[0]:.1f}, "
          f"input={args.input}, median of {args.repeats} interleaved runs")
    print("| model | frames | chunk | whole s | exact s | windowed s | exact / whole | exact / windowed "
          "| max|exact - whole| | max|windowed - whole| | max|whole| |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in args.models:
        model, x = _model_and_input(name, args.frames, args.input)
        with torch.no_grad():
            out = {m: _logits(model, x, m, args.short_chunk) for m in ("whole", "chunked", "windowed")}
            t = interleaved({m: (lambda m=m: _logits(model, x, m, args.short_chunk)) for m in out}, args.repeats,
                            warmup=0)
        d_exact = float((out["chunked"] - out["whole"]).abs().max())
        d_win = float((out["windowed"] - out["whole"]).abs().max())
        print(f"| {name} | {x.shape[2]} | {args.short_chunk} | {t['whole']:.2f} | {t['chunked']:.2f} | "
              f"{t['windowed']:.2f} | {t['chunked'] / t['whole']:.2f} | {t['chunked'] / t['windowed']:.2f} | "
              f"{d_exact:.2e} | {d_win:.2e} | {float(out['whole'].abs().max()):.2f} |", flush=True)


def _run(model: str, frames: int, mode: str, threads: int, chunk: int, save: str | None = None,
         kind: str = "random", cache_mb: float | None = None, allocator: str = "tuned") -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--model", model, "--frames", str(frames),
           "--mode", mode, "--threads", str(threads), "--chunk", str(chunk), "--input", kind, "--allocator", allocator]
    if cache_mb is not None:
        cmd += ["--cache-mb", str(cache_mb)]
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
            f"{r['segments']} | {diff} | {r.get('allocator', 'default')} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS))
    p.add_argument("--frames", type=int, default=3000, help="length of the whole-vs-chunked comparison")
    p.add_argument("--hour-frames", type=int, default=HOUR_FRAMES)
    p.add_argument("--hour-model", default=DEFAULT_LOCALIZER, help="default: the bundled default localizer")
    p.add_argument("--chunk", type=int, default=4096)
    p.add_argument("--short-chunk", type=int, default=1024, help="chunk of the short comparison")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--skip-hour", action="store_true")
    p.add_argument("--hour-only", action="store_true")
    p.add_argument("--input", choices=("random", "synth"), default="random",
                   help="Gaussian noise or the procedural example motion (skelzoo.data.synth) repeated")
    p.add_argument("--windowed", action="store_true", help="also run chunked with exact=False in the table")
    p.add_argument("--compare", action="store_true",
                   help="interleaved in-process timing of whole / exact / windowed (no RSS)")
    p.add_argument("--repeats", type=int, default=3, help="repetitions of --compare")
    p.add_argument("--cache-mb", type=float, default=None,
                   help="exact mode: budget for stored stage outputs (default: chunked.DEFAULT_CACHE_MB)")
    p.add_argument("--hour-mode", choices=("chunked", "windowed"), default="chunked",
                   help="chunked = exact mode (default), windowed = exact=False")
    p.add_argument("--allocator", choices=("default", "tuned", "both"), default="tuned",
                   help="glibc malloc thresholds of the workers: tuned (skelzoo.runtime.tune_allocator, what the "
                        "skelzoo CLI does), default, or both (the one-hour run twice)")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--mode", choices=("whole", "chunked", "windowed"), help=argparse.SUPPRESS)
    p.add_argument("--save", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        _worker(args)
        return
    if args.compare:
        _compare(args)
        return
    import numpy as np

    print(f"threads={args.threads}, cpu_count={os.cpu_count()}, load average={os.getloadavg()[0]:.1f}")
    print("| model | mode | frames | chunk | fps | peak RSS (MB) | segments | max abs diff vs whole | malloc |")
    print("|---|---|---|---|---|---|---|---|---|")
    alloc = "tuned" if args.allocator == "both" else args.allocator
    with tempfile.TemporaryDirectory() as tmp:
        if not args.hour_only:
            for m in args.models:
                w = _run(m, args.frames, "whole", args.threads, 0, f"{tmp}/{m}_w.npy", args.input, allocator=alloc)
                print(_row(w), flush=True)
                for mode in ("chunked", "windowed") if args.windowed else ("chunked",):
                    c = _run(m, args.frames, mode, args.threads, args.short_chunk, f"{tmp}/{m}_{mode}.npy", args.input,
                             cache_mb=args.cache_mb, allocator=alloc)
                    d = float(np.abs(np.load(f"{tmp}/{m}_w.npy") - np.load(f"{tmp}/{m}_{mode}.npy")).max())
                    print(_row(c, f"{d:.2e}"), flush=True)
        for alloc in ((("default", "tuned") if args.allocator == "both" else (args.allocator,))
                      if not args.skip_hour else ()):
            h = _run(args.hour_model, args.hour_frames, args.hour_mode, args.threads, args.chunk, kind=args.input,
                     cache_mb=args.cache_mb, allocator=alloc)
            print(_row(h), flush=True)
            status = "OK" if h["peak_rss_mb"] < 1536 else "OVER"
            print(f"one-hour run ({args.hour_frames} frames, {alloc} malloc): peak RSS {h['peak_rss_mb']:.0f} MB "
                  f"({status} vs 1.5 GB), {h['fps']:.0f} fps, {h['forward_s'] + h['decode_s']:.1f} s total "
                  f"({h['forward_s']:.1f} s network, {h['decode_s']:.1f} s decoding)")


if __name__ == "__main__":
    main()
