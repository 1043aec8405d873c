"""GPU benchmark: every backbone in float32, bf16 autocast and ``torch.compile``; batch sweep, peak memory,
agreement with the CPU, the default localizer's frames/s on one hour of 30 fps skeleton, and the example
configs' training steps.

Input C=3, T=64, V=25, M=2; eval, ``torch.inference_mode``; TF32 off (float32 means float32).

Table 1, per backbone at ``--batch`` (64): clips/s of (a) float32 eager (fast path), (b) float32 eager plain
path, (c) bf16 autocast; the relative error of (a) and (c), max |logit - CPU float32 logit| / max |CPU logit|,
beside the yardstick "CPU f32": the CPU float32 output's own relative error against the CPU float64 output
(randomly initialised backbones are badly conditioned: AAGCN's logits reach 1e5-1e6, so float32 itself
is off by ~1e-5 relative there). ok = fp32 error <= max(1e-4, 10 x the yardstick) and bf16 error <= 0.1.
A backbone that fails is reported with its error and the table goes on.
Table 2, ``torch.compile`` (default mode, inductor) of ``--compile-models`` at ``--batch``: compile seconds
(first call), clips/s, eager clips/s measured again beside it, |d| vs the CPU. Compiling costs tens of
seconds per model, so the table stops at ``--compile-budget`` seconds (``--no-compile`` skips it); a compile
failure is reported and the table goes on.
Table 3 (batch sweep, ``--sweep 1,8,32,128,256``): float32 and bf16 clips/s and peak GPU memory
(``torch.cuda.max_memory_allocated``) per batch size; a batch that runs out of memory is reported as OOM.
Table 4: the default localizer (``--localizer``) on one hour (108,000 frames) of random skeleton, chunked
exactly as on the CPU (``chunked_forward``), float32 and bf16: frames/s, seconds, peak memory.
Table 5 (``--no-train`` skips): one optimisation step of the two example configs
(``examples/configs/ablation/pretrain_v2.yaml``, batch 32, and ``localizer_v2.yaml``, batch 8: the steps of
``benchmarks/pretrain.py --steps``), float32 and bf16 autocast: seconds per step, clips/s, and the first
step's loss beside the range of the CPU step's loss over three seeds (the step's dropout draws come from the
device's RNG, a different stream than the CPU's, so the two agree only to that range).

Without CUDA it prints what it would run and exits 0; ``--dry-run`` does only that. ``--device cpu`` runs
every table on the CPU instead (small sizes: the smoke test CI runs, so the script cannot rot unseen).

    python benchmarks/gpu.py [--batch 64] [--repeats 10] [--pattern '*'] [--no-compile] [--compile-budget 240]
        [--sweep 1,8,32,128,256] [--localizer stgcn_ssl_ufusion.snipclr_bandai] [--hour-frames 108000]
        [--no-train] [--device cuda] [--dry-run]
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOUR_FRAMES = 108_000  # one hour at 30 fps


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _time(fn: Callable[[], object], repeats: int, device: str) -> float:
    """Median seconds of ``fn``, synchronising the device around each call (one warm-up call)."""
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def _reset_memory(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_mib(device: str) -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else float("nan")


def _error(where: str, e: BaseException) -> None:
    last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
    at = f" ({Path(last.filename).name}:{last.lineno})" if last else ""
    print(f"  {where}: FAILED {type(e).__name__}: {str(e)[:200]}{at}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--pattern", default="*")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--compile-models", default="stgcn,agcn,ctrgcn,aagcn,msg3d")
    ap.add_argument("--compile-budget", type=float, default=240.0, help="seconds; later models are skipped")
    ap.add_argument("--sweep", default="1,8,32,128,256", help="batch sizes of table 3 ('' to skip)")
    ap.add_argument("--sweep-models", default="stgcn,agcn,ctrgcn,aagcn,msg3d")
    ap.add_argument("--localizer", default=None, help="table 4 model (default: the bundled default localizer; "
                                                        "'' to skip)")
    ap.add_argument("--hour-frames", type=int, default=HOUR_FRAMES)
    ap.add_argument("--no-train", action="store_true", help="skip table 5 (training steps)")
    ap.add_argument("--device", default="cuda", help="cuda (default) or cpu (a smoke run of every table)")
    ap.add_argument("--dry-run", action="store_true", help="parse, list what would run, exit 0 (no CUDA needed)")
    args = ap.parse_args(argv)
    args.sweep_sizes = [int(b) for b in args.sweep.split(",") if b.strip()]
    return args


def _names(pattern: str) -> list[str]:
    import skelzoo

    return [n for n in skelzoo.list_models(pattern) if skelzoo.model_info(n)["task"] != "localization"]


def _input(model, batch: int, seed: int = 0):
    import torch

    return torch.randn(batch, model.in_channels, 64, model.num_joints, model.num_person or 1,
                       generator=torch.Generator().manual_seed(seed))


def backbone_table(args: argparse.Namespace) -> int:
    import torch

    import skelzoo
    from skelzoo.blocks.channels_last import plain_paths

    dev, b = args.device, args.batch
    name_dev = torch.cuda.get_device_name() if dev.startswith("cuda") else "CPU"
    print(f"## 1. backbones on {name_dev}: N={b} T=64 V=25 M=2; clips/s (median of {args.repeats}); "
          f"rel = max |logit - CPU float32 logit| / max |CPU logit|; CPU f32 = CPU float32 vs float64")
    print(f"{'model':<14} {'fp32':>8} {'fp32 plain':>10} {'bf16':>8} {'rel fp32':>9} {'CPU f32':>9} "
          f"{'rel bf16':>9} ok")
    failures = 0
    for name in _names(args.pattern):
        try:
            torch.manual_seed(0)
            model = skelzoo.load_model(name).eval()
            x = _input(model, b)
            with torch.inference_mode():
                ref = model(x)
                ref64 = copy.deepcopy(model).double()(x.double())
                scale = float(ref.abs().max())
                model.to(dev)
                xd = x.to(dev)
                out32 = model(xd).float().cpu()
                t32 = _time(lambda: model(xd), args.repeats, dev)
                with plain_paths():
                    tplain = _time(lambda: model(xd), args.repeats, dev)
                with torch.autocast(dev.split(":")[0], dtype=torch.bfloat16):
                    out16 = model(xd).float().cpu()
                    t16 = _time(lambda: model(xd), args.repeats, dev)
            r32, r16 = float((out32 - ref).abs().max()) / scale, float((out16 - ref).abs().max()) / scale
            r_cpu = float((ref.double() - ref64).abs().max()) / scale
            ok = r32 <= max(1e-4, 10 * r_cpu) and r16 <= 0.1
            failures += not ok
            print(f"{name:<14} {b / t32:>8.0f} {b / tplain:>10.0f} {b / t16:>8.0f} "
                  f"{r32:>9.1e} {r_cpu:>9.1e} {r16:>9.1e} {'yes' if ok else 'NO'}", flush=True)
        except Exception as e:  # report, keep going
            failures += 1
            _error(name, e)
        finally:
            model = None
            _reset_memory(dev)
    return failures


def compile_table(args: argparse.Namespace) -> int:
    import torch

    import skelzoo

    if args.no_compile:
        return 0
    dev, b = args.device, args.batch
    print(f"## 2. torch.compile (inductor, default mode), N={b}; budget {args.compile_budget:.0f} s")
    print(f"{'model':<10} {'compile s':>9} {'eager':>8} {'compiled':>8} {'ratio':>6} {'|d|':>9} ok")
    failures, t_start = 0, time.perf_counter()
    for name in [n for n in args.compile_models.split(",") if n]:
        if time.perf_counter() - t_start > args.compile_budget:
            print(f"{name:<10} skipped: the {args.compile_budget:.0f} s budget is spent")
            continue
        try:
            torch._dynamo.reset()
            torch.manual_seed(0)
            model = skelzoo.load_model(name).eval()
            x = _input(model, b)
            with torch.inference_mode():
                ref = model(x)
                scale = max(1.0, float(ref.abs().max()))
                model.to(dev)
                xd = x.to(dev)
                cm = torch.compile(model)
                t0 = time.perf_counter()
                outc = cm(xd).float().cpu()
                tcomp = time.perf_counter() - t0
                te = _time(lambda: model(xd), args.repeats, dev)
                tc = _time(lambda: cm(xd), args.repeats, dev)
            dc = float((outc - ref).abs().max())
            ok = dc <= 1e-3 * scale
            failures += not ok
            print(f"{name:<10} {tcomp:>9.1f} {b / te:>8.0f} {b / tc:>8.0f} {te / tc:>5.2f}x {dc:>9.1e} "
                  f"{'yes' if ok else 'NO'}", flush=True)
        except Exception as e:
            failures += 1
            _error(f"{name} compile", e)
        finally:
            model = cm = None
            _reset_memory(dev)
    return failures


def sweep_table(args: argparse.Namespace) -> int:
    import torch

    import skelzoo

    if not args.sweep_sizes:
        return 0
    dev = args.device
    print(f"## 3. batch sweep: clips/s and peak memory (MiB), float32 / bf16 autocast, median of {args.repeats}")
    print(f"{'model':<10} {'batch':>6} {'fp32 clips/s':>12} {'fp32 MiB':>9} {'bf16 clips/s':>12} {'bf16 MiB':>9}")
    failures = 0
    for name in [n for n in args.sweep_models.split(",") if n]:
        try:
            model = skelzoo.load_model(name).eval().to(dev)
            for b in args.sweep_sizes:
                cells = []
                for bf16 in (False, True):
                    _reset_memory(dev)
                    try:
                        xd = _input(model, b).to(dev)
                        with torch.inference_mode(), torch.autocast(dev.split(":")[0], dtype=torch.bfloat16,
                                                                    enabled=bf16):
                            t = _time(lambda: model(xd), args.repeats, dev)
                        cells += [f"{b / t:>12.0f}", f"{_peak_mib(dev):>9.0f}"]
                    except torch.cuda.OutOfMemoryError:
                        cells += [f"{'OOM':>12}", f"{'-':>9}"]
                    xd = None
                print(f"{name:<10} {b:>6} " + " ".join(cells), flush=True)
        except Exception as e:
            failures += 1
            _error(f"{name} sweep", e)
        finally:
            model = None
            _reset_memory(dev)
    return failures


def localizer_table(args: argparse.Namespace) -> int:
    import torch

    import skelzoo
    from skelzoo.localization.chunked import chunked_forward
    from skelzoo.models import DEFAULT_LOCALIZER

    name = DEFAULT_LOCALIZER if args.localizer is None else args.localizer
    if not name:
        return 0
    dev = args.device
    try:
        model = (skelzoo.load_model(name, pretrained=True) if "." in name
                 else skelzoo.build_model(name)).eval().to(dev)
        x = torch.randn(1, model.in_channels, args.hour_frames, model.num_joints, 1,
                        generator=torch.Generator().manual_seed(1))
        with torch.inference_mode():
            ref = chunked_forward(model.cpu(), x) if dev != "cpu" else None
            model.to(dev)
        xd = x.to(dev)
        print(f"## 4. localizer {name}: {args.hour_frames} frames ({args.hour_frames / 30 / 3600:.2f} h at 30 fps), "
              f"chunked; |d| = max |logit - CPU float32|, agree = frames with the CPU's argmax label")
        print(f"{'precision':<10} {'seconds':>8} {'frames/s':>10} {'peak MiB':>9} {'|d|':>9} {'agree':>7}")
        for bf16 in (False, True):
            _reset_memory(dev)
            with torch.inference_mode(), torch.autocast(dev.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                out = chunked_forward(model, xd)
                t = _time(lambda: chunked_forward(model, xd), max(1, min(3, args.repeats)), dev)
            d, agree = float("nan"), float("nan")
            if ref is not None:
                out = out.float().cpu()
                d = float((out - ref).abs().max())
                agree = float((out.argmax(1) == ref.argmax(1)).float().mean())
            print(f"{'bf16' if bf16 else 'fp32':<10} {t:>8.2f} {args.hour_frames / t:>10.0f} "
                  f"{_peak_mib(dev):>9.0f} {d:>9.1e} {agree:>7.2%}", flush=True)
        return 0
    except Exception as e:
        _error(f"localizer {name}", e)
        return 1


def train_table(args: argparse.Namespace) -> int:
    import torch
    from pretrain import _config_steps

    if args.no_train:
        return 0
    dev = args.device
    print(f"## 5. training steps of the example configs on {dev}: one optimisation step, median of "
          f"{args.repeats}; loss = first step's loss (seed 3); CPU = the CPU float32 step's loss over seeds 3-5 "
          f"(dropout draws from the device's own RNG stream, so only the seed-to-seed range can be compared)")
    print(f"{'step':<58} {'precision':<9} {'s/step':>8} {'clips/s':>8} {'loss':>11} {'CPU loss range':>15}")
    failures = 0
    cpu_steps = _config_steps("cpu")
    for name, (make, loss_fn, (n_clip, _)) in _config_steps(dev).items():
        try:
            cpu_losses = []
            for seed in (3, 4, 5):  # the step draws dropout masks from the global RNG: the loss moves with it
                m, _ = cpu_steps[name][0]()
                torch.manual_seed(seed)
                cpu_losses.append(float(cpu_steps[name][1](m).detach()))
            cpu_loss = f"{min(cpu_losses):.4f}-{max(cpu_losses):.4f}"
            for bf16 in (False, True):
                m, opt = make()

                def step(m=m, opt=opt, bf16=bf16, keep: list | None = None) -> None:
                    with torch.autocast(dev.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                        loss = loss_fn(m)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    if keep is not None:
                        keep.append(float(loss.detach()))

                first: list[float] = []
                torch.manual_seed(3)
                step(keep=first)
                _reset_memory(dev)
                t = _time(step, args.repeats, dev)
                print(f"{name:<58} {'bf16' if bf16 else 'fp32':<9} {t:>8.3f} {n_clip / t:>8.0f} "
                      f"{first[0]:>11.6f} {cpu_loss:>15}", flush=True)
        except Exception as e:
            failures += 1
            _error(f"{name} training step", e)
    return failures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.dry_run or (args.device.startswith("cuda") and not torch.cuda.is_available()):
        why = "dry run" if args.dry_run else "no CUDA device available"
        print(f"benchmarks/gpu.py ({why}): would run backbones {_names(args.pattern)} at batch {args.batch} "
              f"(fp32, fp32 plain, bf16 autocast); torch.compile of "
              f"{'nothing' if args.no_compile else args.compile_models}; batch sweep "
              f"{args.sweep_sizes} on {args.sweep_models}; localizer {args.localizer or 'default'} on "
              f"{args.hour_frames} frames; training steps {'no' if args.no_train else 'yes'}. Nothing measured.")
        return 0
    if args.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, "
              f"{torch.cuda.get_device_name()}; TF32 off")
    failures = backbone_table(args)
    failures += compile_table(args)
    failures += sweep_table(args)
    failures += localizer_table(args)
    failures += train_table(args)
    print(f"failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
