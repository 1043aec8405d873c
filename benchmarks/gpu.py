"""CUDA forward of every backbone: float32, bf16 autocast and ``torch.compile``; throughput and agreement.

For sessions with a GPU. Input N=``--batch`` (64), C=3, T=64, V=25, M=2; eval, ``torch.inference_mode``.
Per backbone: clips/s of (a) float32 eager (fast path), (b) float32 eager plain path, (c) bf16 autocast,
(d) ``torch.compile`` float32; max |logit diff| of each vs the CPU float32 output (tolerances: fp32 1e-3
relative (TF32 off), bf16 5e-2 relative). Exits 0 with a message when CUDA is absent.

    python benchmarks/gpu.py [--batch 64] [--repeats 10] [--pattern '*'] [--no-compile]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _time(fn, repeats: int) -> float:
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--pattern", default="*")
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("benchmarks/gpu.py: no CUDA device available; nothing to do.")
        return 0
    import skelzoo
    from skelzoo.blocks.channels_last import plain_paths

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    names = [n for n in skelzoo.list_models(args.pattern) if skelzoo.model_info(n)["task"] != "localization"]
    print(f"GPU: {torch.cuda.get_device_name()}; N={args.batch} T=64 V=25 M=2; clips/s (median of {args.repeats})")
    print(f"{'model':<14} {'fp32':>8} {'fp32 plain':>10} {'bf16':>8} {'compile':>8} "
          f"{'|d| fp32':>9} {'|d| bf16':>9} {'|d| comp':>9} ok")
    failures = 0
    for name in names:
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
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
