"""GPU benchmark: every backbone in float32, bf16 autocast and ``torch.compile``; batch sweep, peak memory,
agreement with the CPU, and the default localizer's frames/s on one hour of 30 fps skeleton.

For sessions with a GPU (none has measured it yet: docs/performance.md says GPU numbers are unmeasured).
Input C=3, T=64, V=25, M=2; eval, ``torch.inference_mode``; TF32 off (float32 means float32).

Table 1, per backbone at ``--batch`` (64): clips/s of (a) float32 eager (fast path), (b) float32 eager plain
path, (c) bf16 autocast, (d) ``torch.compile`` float32 (skipped with ``--no-compile``; a compile failure is
reported and the row kept); max |logit diff| of each vs the CPU float32 output (tolerances: fp32 1e-3
relative, bf16 5e-2 relative).
Table 2 (batch sweep, ``--sweep 1,8,32,128,256``): float32 and bf16 clips/s and peak GPU memory
(``torch.cuda.max_memory_allocated``) per batch size; a batch that runs out of memory is reported as OOM.
Table 3: the default localizer (``--localizer``) on one hour (108,000 frames) of random skeleton, chunked
exactly as on the CPU (``chunked_forward``), float32 and bf16: frames/s, seconds, peak memory.

Without CUDA it prints what it would run and exits 0; ``--dry-run`` does only that (argument parsing and
model listing, no CUDA needed), so CI can check the script on CPU machines.

    python benchmarks/gpu.py [--batch 64] [--repeats 10] [--pattern '*'] [--no-compile] \
        [--sweep 1,8,32,128,256] [--localizer stgcn_ssl_ufusion.snipclr_bandai] [--hour-frames 108000] [--dry-run]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOUR_FRAMES = 108_000  # one hour at 30 fps


def _time(fn: Callable[[], object], repeats: int) -> float:
    """Median seconds of ``fn`` with CUDA synchronisation (one warm-up call)."""
    import torch

    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--pattern", default="*")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--sweep", default="1,8,32,128,256", help="batch sizes of table 2 ('' to skip)")
    ap.add_argument("--sweep-models", default="stgcn,agcn,ctrgcn,aagcn,msg3d")
    ap.add_argument("--localizer", default=None, help="table 3 model (default: the bundled default localizer; "
                                                        "'' to skip)")
    ap.add_argument("--hour-frames", type=int, default=HOUR_FRAMES)
    ap.add_argument("--dry-run", action="store_true", help="parse, list what would run, exit 0 (no CUDA needed)")
    args = ap.parse_args(argv)
    args.sweep_sizes = [int(b) for b in args.sweep.split(",") if b.strip()]
    return args


def _names(pattern: str) -> list[str]:
    import skelzoo

    return [n for n in skelzoo.list_models(pattern) if skelzoo.model_info(n)["task"] != "localization"]


def backbone_table(args: argparse.Namespace) -> int:
    import torch

    import skelzoo
    from skelzoo.blocks.channels_last import plain_paths

    print(f"GPU: {torch.cuda.get_device_name()}; N={args.batch} T=64 V=25 M=2; clips/s (median of {args.repeats})")
    print(f"{'model':<14} {'fp32':>8} {'fp32 plain':>10} {'bf16':>8} {'compile':>8} "
          f"{'|d| fp32':>9} {'|d| bf16':>9} {'|d| comp':>9} ok")
    failures = 0
    for name in _names(args.pattern):
        torch.manual_seed(0)
        model = skelzoo.load_model(name).eval()
        x = torch.randn(args.batch, model.in_channels, 64, model.num_joints, model.num_person or 1)
        with torch.inference_mode():
            ref = model(x)
            scale = max(1.0, float(ref.abs().max()))
            model.cuda()
            xc = x.cuda()
            out32 = model(xc).float().cpu()
            t32 = _time(lambda: model(xc), args.repeats)
            with plain_paths():
                tplain = _time(lambda: model(xc), args.repeats)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out16 = model(xc).float().cpu()
                t16 = _time(lambda: model(xc), args.repeats)
        tc, dc = float("nan"), float("nan")
        if not args.no_compile:
            try:
                cm = torch.compile(model)
                with torch.inference_mode():
                    outc = cm(xc).float().cpu()
                    tc = _time(lambda: cm(xc), args.repeats)
                dc = float((outc - ref).abs().max())
            except Exception as e:  # report, keep going
                print(f"  {name}: torch.compile failed: {type(e).__name__}: {str(e)[:120]}")
        d32, d16 = float((out32 - ref).abs().max()), float((out16 - ref).abs().max())
        ok = d32 <= 1e-3 * scale and d16 <= 5e-2 * scale and (dc != dc or dc <= 1e-3 * scale)
        failures += not ok
        b = args.batch
        print(f"{name:<14} {b / t32:>8.0f} {b / tplain:>10.0f} {b / t16:>8.0f} {b / tc:>8.0f} "
              f"{d32:>9.1e} {d16:>9.1e} {dc:>9.1e} {'yes' if ok else 'NO'}")
        model.cpu()
        torch.cuda.empty_cache()
    return failures


def sweep_table(args: argparse.Namespace) -> None:
    import torch

    import skelzoo

    if not args.sweep_sizes:
        return
    print(f"batch sweep: clips/s and peak memory (MiB), float32 / bf16 autocast, median of {args.repeats}")
    print(f"{'model':<10} {'batch':>6} {'fp32 clips/s':>12} {'fp32 MiB':>9} {'bf16 clips/s':>12} {'bf16 MiB':>9}")
    for name in [n for n in args.sweep_models.split(",") if n]:
        model = skelzoo.load_model(name).eval().cuda()
        for b in args.sweep_sizes:
            cells = []
            for bf16 in (False, True):
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
                try:
                    xc = torch.randn(b, model.in_channels, 64, model.num_joints, model.num_person or 1, device="cuda")
                    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
                        t = _time(lambda: model(xc), args.repeats)
                    cells += [f"{b / t:>12.0f}", f"{torch.cuda.max_memory_allocated() / 2**20:>9.0f}"]
                except torch.cuda.OutOfMemoryError:
                    cells += [f"{'OOM':>12}", f"{'-':>9}"]
            print(f"{name:<10} {b:>6} " + " ".join(cells))
        model.cpu()
        torch.cuda.empty_cache()


def localizer_table(args: argparse.Namespace) -> None:
    import torch

    import skelzoo
    from skelzoo.localization.chunked import chunked_forward
    from skelzoo.models import DEFAULT_LOCALIZER

    name = DEFAULT_LOCALIZER if args.localizer is None else args.localizer
    if not name:
        return
    model = (skelzoo.load_model(name, pretrained=True) if "." in name else skelzoo.build_model(name)).eval().cuda()
    x = torch.randn(1, model.in_channels, args.hour_frames, model.num_joints, 1,
                    generator=torch.Generator().manual_seed(1)).cuda()
    print(f"localizer {name}: {args.hour_frames} frames ({args.hour_frames / 30 / 3600:.2f} h at 30 fps), chunked")
    print(f"{'precision':<10} {'seconds':>8} {'frames/s':>10} {'peak MiB':>9}")
    for bf16 in (False, True):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            t = _time(lambda: chunked_forward(model, x), max(1, min(3, args.repeats)))
        print(f"{'bf16' if bf16 else 'fp32':<10} {t:>8.2f} {args.hour_frames / t:>10.0f} "
              f"{torch.cuda.max_memory_allocated() / 2**20:>9.0f}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.dry_run or not torch.cuda.is_available():
        why = "dry run" if args.dry_run else "no CUDA device available"
        print(f"benchmarks/gpu.py ({why}): would run backbones {_names(args.pattern)} at batch {args.batch} "
              f"(fp32, fp32 plain, bf16 autocast{'' if args.no_compile else ', torch.compile'}); batch sweep "
              f"{args.sweep_sizes} on {args.sweep_models}; localizer {args.localizer or 'default'} on "
              f"{args.hour_frames} frames. Nothing measured.")
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    failures = backbone_table(args)
    sweep_table(args)
    localizer_table(args)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
