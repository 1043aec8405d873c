"""Training-step speed: snippet contrast (SnipCLR) vs plain MoCo (SkeletonCLR), loader vs step time, and the
localization model's forward+backward with fast vs plain backbone paths.

Table 1 (pretraining): clips/s of one optimisation step (query forward+backward, momentum key encoder,
queue update, SGD step) of ``SnipCLR`` and ``SkeletonCLR`` on ``agcn_loc`` (``--width`` base channels),
batch ``--batch``, T ``--frames``; "views" = time to make the query/key views of the batch
(``skelzoo.training.pretrain.make_views``: the per-batch loader work), as a fraction of the step.
Table 2 (training step of ``agcn_loc_ufusion``, reduced width as in the lead's runs, T=``--loc-frames``):
forward+backward seconds with fast paths vs the plain per-subset baseline, interleaved medians.

Table 3 (``--steps``, issue #20): one full optimisation step of the example configs,
``examples/configs/ablation/pretrain_v2.yaml`` (SnipCLR on ``stgcn_ssl``, batch 32, T=96, in-batch negatives,
cosine snippet matching, SGD) and ``localizer_v2.yaml`` (``stgcn_ssl_ufusion``, batch 8, 256-frame crops,
Adam), at the configs' thread count (1): the code before issue #20 ("before") and the current one ("after")
interleaved in one process, with the loss and every gradient of the two compared on the same seed. Also the
step's FLOPs (``FlopCounterMode`` over forward + backward, key encoder included) and two machine rates timed
in the same round-robin: a 2048² ``torch.mm`` and the step's largest convolution alone (the 256-channel
(9, 1) temporal convolution of the last block, channels-last oneDNN). "ceiling" = the faster of the two;
"bound" = ceiling / the step's own GFLOP/s: the largest speed-up any rewrite that keeps the FLOPs could give.

    python benchmarks/pretrain.py [--batch 8] [--frames 64] [--width 32] [--repeats 3] [--loc-frames 192]
    python benchmarks/pretrain.py --steps [--repeats 7] [--threads 1] [--processes 3]

``--processes P`` adds the steps as the ``skelzoo`` command line runs them, each side in its own processes
(P pairs, alternating which runs first): before = the code before issue #20 with glibc's default malloc,
after = now with :func:`skelzoo.runtime.tune_allocator` (set by ``skelzoo pretrain`` / ``finetune`` since
issue #20; an allocator setting is per process, so this comparison cannot be made inside one process).
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


REFERENCE = "SkeletonCLR, plain backbone"


def pretrain_rows(batch: int, frames: int, width: int, repeats: int, queue: int = 4096) -> list[dict]:
    """Clips/s of one optimisation step of SnipCLR and of the plain MoCo design (SkeletonCLR), interleaved.

    The reference MoCo design (:data:`REFERENCE`) is SkeletonCLR with the backbone on its plain
    per-subset path (:func:`_baselines.baseline_mode`, the official formulation), as the released
    SkeletonCLR / SnipCLR code runs it; SkeletonCLR on the fast path is also shown, so the cost of the
    snippet contrast itself is visible."""
    import torch
    from _baselines import baseline_mode
    from _common import interleaved

    from skelzoo.contrastive.skeletonclr import SkeletonCLR
    from skelzoo.contrastive.snippet import SnipCLR
    from skelzoo.data.augment import AugmentConfig
    from skelzoo.training.pretrain import make_views

    torch.manual_seed(0)
    args = {"base_channels": width}
    models = {"SnipCLR (snippet contrast)": SnipCLR("agcn_loc", backbone_args=args, queue_size=queue),
              "SkeletonCLR (plain MoCo)": SkeletonCLR("agcn_loc", backbone_args=args, queue_size=queue),
              REFERENCE: SkeletonCLR("agcn_loc", backbone_args=args, queue_size=queue)}
    x = torch.randn(batch, 3, frames, 25, 1)
    gen = torch.Generator().manual_seed(0)
    aug = AugmentConfig()

    def views():
        return make_views(x, aug, relative_tempo=False, view_frames=frames, generator=gen)

    v = views()
    fns = {"views": views}
    for name, m in models.items():
        m.train()
        opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)

        def step(m=m, opt=opt, plain=name == REFERENCE):
            opt.zero_grad(set_to_none=True)
            with baseline_mode() if plain else contextlib.nullcontext():
                loss = m(v["query"], v["key"])["loss"]
            loss.backward()
            opt.step()
        fns[name] = step
    t = interleaved(fns, repeats)
    return [{"name": k, "step_s": t[k], "clips_s": batch / t[k], "views_s": t["views"]} for k in models]


def loc_rows(batch: int, frames: int, repeats: int) -> list[dict]:
    import torch
    from _baselines import baseline_mode
    from _common import interleaved

    import skelzoo

    torch.manual_seed(0)
    model = skelzoo.load_model("agcn_loc_ufusion", backbone_args={"base_channels": 32}, neck_channels=128,
                               num_classes=10).train()
    x = torch.randn(batch, 3, frames, 25, 1)

    def fwd_bwd():
        model.zero_grad(set_to_none=True)
        out = model(x)
        out = out if torch.is_tensor(out) else next(v for v in (out.values() if isinstance(out, dict) else out)
                                                      if torch.is_tensor(v))
        out.float().square().mean().backward()

    def base():
        with baseline_mode():
            fwd_bwd()

    t = interleaved({"fast": fwd_bwd, "base": base}, repeats)
    return [{"name": f"agcn_loc_ufusion w32 N={batch} T={frames}", "fast_s": t["fast"], "base_s": t["base"]}]


#: what "before" undoes: every training-step change of issue #20, as (object, attribute, old value)
def _before_patches() -> list[tuple[object, str, object]]:
    import torch
    from torch import nn

    from skelzoo.blocks import channels_last, gemm, spectral
    from skelzoo.blocks.dropout import ExactDropout

    def shared_graph_matmul(g, x):  # the shared-graph aggregation before its copy-free bmm (2026-12-04)
        return torch.matmul(g, x)
    return [(ExactDropout, "forward", nn.Dropout.forward), (gemm, "_ENABLED", False),
            (channels_last, "_shared_graph_bmm", shared_graph_matmul), (spectral, "_ENABLED", False)]


class _Before:
    """Context manager: the training-step code as before issue #20 (see :func:`_before_patches`)."""

    def __enter__(self) -> None:
        self.saved = [(o, a, o.__dict__[a] if a in o.__dict__ else None) for o, a, _ in _before_patches()]
        for o, a, v in _before_patches():
            setattr(o, a, v)

    def __exit__(self, *exc: object) -> None:
        for o, a, v in self.saved:
            if v is None:
                delattr(o, a)
            else:
                setattr(o, a, v)


def _config_steps(device: str = "cpu") -> dict[str, tuple[object, object, tuple[int, int]]]:
    """``{name: (make_model, loss(model, dtype=float32), (batch, frames))}`` for the two example configs,
    models and inputs on ``device`` (the inputs are drawn on the CPU, so every device sees the same ones)."""
    import torch

    from skelzoo.training.finetune import FinetuneConfig, build_finetune_model, frame_loss
    from skelzoo.training.pretrain import PretrainConfig, build_pretrain_model, make_views
    from skelzoo.training.trainer import build_optimizer, load_config

    cfgs = Path(__file__).resolve().parents[1] / "examples" / "configs" / "ablation"
    pcfg = load_config(PretrainConfig, cfgs / "pretrain_v2.yaml")
    fcfg = load_config(FinetuneConfig, cfgs / "localizer_v2.yaml", ["model.pretrained=null"])
    bp, tp = pcfg.run.batch_size, pcfg.data.clip_frames
    bf, tf = fcfg.run.batch_size, fcfg.data.max_frames
    gen = torch.Generator().manual_seed(0)
    xp = torch.randn(bp, 3, tp, 25, 1, generator=gen).to(device)
    xf = torch.randn(bf, 3, tf, 25, 1, generator=gen).to(device)
    labels = torch.randint(0, 11, (bf, tf), generator=gen).to(device)

    def pre_model():
        torch.manual_seed(0)
        m = build_pretrain_model(pcfg.model).train().to(device)
        return m, build_optimizer([p for p in m.parameters() if p.requires_grad], pcfg.optim)

    def pre_loss(m, dtype=torch.float32):
        views = make_views(xp.to(dtype), pcfg.augment, relative_tempo=pcfg.model.relative_tempo,
                           view_frames=pcfg.data.view_frames, generator=torch.Generator().manual_seed(1))
        return m(views["query"], views["key"], views.get("key_tempo"), epoch=0)["loss"]

    def loc_model():
        torch.manual_seed(0)
        m = build_finetune_model(fcfg, num_classes=11, class_names=None).train().to(device)
        return m, build_optimizer([p for p in m.parameters() if p.requires_grad], fcfg.optim)

    def loc_loss(m, dtype=torch.float32):
        return frame_loss(m(xf.to(dtype)), labels)

    return {f"pretrain_v2: SnipCLR stgcn_ssl N={bp} T={tp} (SGD)": (pre_model, pre_loss, (bp, tp)),
            f"localizer_v2: stgcn_ssl_ufusion N={bf} T={tf} (Adam)": (loc_model, loc_loss, (bf, tf))}


def _rate_fns(bf: int, tf: int) -> dict[str, tuple[object, float]]:
    """Two machine rates for the same round-robin: a 2048² GEMM and the step's largest convolution alone
    (256 -> 256, kernel (9, 1), on the last block's ``(N, 256, T/4, 25)`` channels-last map), as callables."""
    import torch
    import torch.nn.functional as F

    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    x = torch.randn(bf, 256, tf // 4, 25).contiguous(memory_format=torch.channels_last)
    w = torch.randn(256, 256, 9, 1).contiguous(memory_format=torch.channels_last)

    def gemm():
        return torch.mm(a, b)

    def conv():
        with torch.no_grad():
            return F.conv2d(x, w, None, 1, (4, 0))
    return {"gemm": (gemm, 2 * 2048 ** 3 / 1e9), "conv": (conv, 2 * bf * (tf // 4) * 25 * 256 * 256 * 9 / 1e9)}


def _train_step(m, opt, loss_fn, before: bool) -> None:
    """One optimisation step of an example config, with the code before issue #20 when ``before``."""
    with _Before() if before else contextlib.nullcontext():
        loss = loss_fn(m)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def step_rows(repeats: int) -> list[dict]:
    """Before/after seconds of one optimisation step (interleaved) + loss/gradient equality on one seed."""
    import torch
    from _common import interleaved
    from torch.utils.flop_counter import FlopCounterMode

    rows = []
    for name, (make, loss_fn, (n_clip, t_clip)) in _config_steps().items():
        # equality: same init, same seed, one forward + backward each
        grads = {}
        for side in ("before", "after"):
            m, _ = make()
            torch.manual_seed(3)
            with _Before() if side == "before" else contextlib.nullcontext():
                loss = loss_fn(m)
                loss.backward()
            grads[side] = (float(loss.detach()), {k: p.grad.clone() for k, p in m.named_parameters() if p.grad is not None})
        # the yardstick: the same step in float64 (how far float32 itself is from the exact gradient)
        m, _ = make()
        m.double()
        torch.manual_seed(3)
        loss_fn(m, torch.float64).backward()
        g64 = {k: p.grad for k, p in m.named_parameters() if p.grad is not None}
        m, _ = make()
        torch.manual_seed(3)
        with _Before(), FlopCounterMode(display=False) as fc:  # the counter does not see oneDNN's linear
            loss_fn(m).backward()
        gflop = fc.get_total_flops() / 1e9
        lb, gb = grads["before"]
        la, ga = grads["after"]
        # relative to the largest gradient entry of the model: a per-tensor ratio is meaningless for tensors
        # whose exact gradient is zero (a conv bias followed by BatchNorm), where both sides hold rounding noise
        gmax = max(float(g.abs().max()) for g in gb.values())
        gdiff = max(float((gb[k] - ga[k]).abs().max()) for k in gb) / max(gmax, 1e-30)
        g64max = max(float(g.abs().max()) for g in g64.values())
        f32err = {side: max(float((g[k].double() - g64[k]).abs().max()) for k in g64) / max(g64max, 1e-30)
                  for side, g in (("before", gb), ("after", ga))}
        fns = {}
        for side in ("before", "after"):
            m, opt = make()

            def step(m=m, opt=opt, before=side == "before"):
                _train_step(m, opt, loss_fn, before)
            fns[side] = step
        rates = _rate_fns(n_clip, t_clip)
        t = interleaved({**fns, **{k: fn for k, (fn, _) in rates.items()}}, repeats)
        rows.append({"name": name, "before_s": t["before"], "after_s": t["after"], "gflop": gflop,
                     "gemm_gflops": rates["gemm"][1] / t["gemm"], "conv_gflops": rates["conv"][1] / t["conv"],
                     "loss_before": lb,
                     "loss_after": la, "grad_rel_diff": gdiff, "same_grad_keys": set(gb) == set(ga),
                     "f32_err_before": f32err["before"], "f32_err_after": f32err["after"]})
    return rows


def _child_steps(side: str, index: int, repeats: int) -> None:
    """One side of :func:`process_rows` in this (fresh) process: print the step seconds as JSON."""
    import json
    import time

    from skelzoo.runtime import tune_allocator

    if side == "after":
        tune_allocator()  # what the skelzoo command line sets since issue #20 (before it: glibc's defaults)
    make, loss_fn, _ = list(_config_steps().values())[index]
    m, opt = make()
    times = []
    for i in range(repeats + 2):  # 2 warm-up steps
        t0 = time.perf_counter()
        _train_step(m, opt, loss_fn, side == "before")
        if i >= 2:
            times.append(time.perf_counter() - t0)
    print(json.dumps(times))


def process_rows(processes: int, repeats: int) -> list[dict]:
    """The training step as the ``skelzoo`` command line runs it, before and after issue #20, each side in its
    own processes (the C allocator's setting is per process): before = the code before issue #20 with glibc's
    default malloc, after = now with :func:`skelzoo.runtime.tune_allocator` (what ``skelzoo pretrain`` /
    ``finetune`` apply). ``processes`` pairs, alternating which side runs first; ``repeats`` timed steps each
    (after 2 warm-up steps); the medians over all steps of a side."""
    import json
    import statistics
    import subprocess

    import torch

    rows = []
    for index, name in enumerate(_config_steps()):
        t: dict[str, list[float]] = {"before": [], "after": []}
        for p in range(processes):
            for side in (("before", "after") if p % 2 == 0 else ("after", "before")):
                cmd = [sys.executable, __file__, "--step-child", f"{side}:{index}", "--repeats", str(repeats),
                       "--threads", str(torch.get_num_threads())]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                t[side] += json.loads(out.strip().splitlines()[-1])
        rows.append({"name": name, "before_s": statistics.median(t["before"]),
                     "after_s": statistics.median(t["after"]), "n": len(t["before"])})
    return rows


def print_process_rows(rows: list[dict], threads: int, processes: int) -> None:
    print(f"training step as the skelzoo command line runs it, {threads} thread(s), {processes} process pairs "
          f"(alternating order): before = the code before issue #20 + glibc's default malloc, after = now + "
          f"skelzoo.runtime.tune_allocator() (what `skelzoo pretrain` / `finetune` set)")
    print(f"{'step':<52} {'before s':>8} {'after s':>8} {'speed-up':>8} {'steps/side':>10}")
    for r in rows:
        print(f"{r['name']:<52} {r['before_s']:>8.3f} {r['after_s']:>8.3f} {r['before_s'] / r['after_s']:>7.2f}x "
              f"{r['n']:>10}")


def print_steps(rows: list[dict], threads: int, repeats: int) -> None:
    print(f"training step of the example configs, {threads} thread(s), median of {repeats} interleaved steps; "
          f"before = the code before issue #20, after = now; losses/gradients on one seed")
    print(f"{'step':<52} {'before s':>8} {'after s':>8} {'speed-up':>8} {'loss before':>12} {'loss after':>12} "
          f"{'max grad rel diff':>17} {'f32 err before':>14} {'f32 err after':>13} {'GFLOP':>6} {'GFLOP/s':>7} "
          f"{'GEMM':>5} {'conv':>5} {'bound':>6} {'bound/before':>12}")
    for r in rows:
        rate = r["gflop"] / r["after_s"]
        ceiling = max(r["gemm_gflops"], r["conv_gflops"])
        print(f"{r['name']:<52} {r['before_s']:>8.3f} {r['after_s']:>8.3f} {r['before_s'] / r['after_s']:>7.2f}x "
              f"{r['loss_before']:>12.7f} {r['loss_after']:>12.7f} {r['grad_rel_diff']:>17.1e} "
              f"{r['f32_err_before']:>14.1e} {r['f32_err_after']:>13.1e} "
              f"{r['gflop']:>6.1f} {rate:>7.0f} {r['gemm_gflops']:>5.0f} {r['conv_gflops']:>5.0f} "
              f"{ceiling / rate:>5.2f}x {ceiling / (r['gflop'] / r['before_s']):>11.2f}x"
              + ("" if r["same_grad_keys"] else "  (gradient sets differ!)"))
    print("GFLOP = one step's forward + backward (key encoder included), FlopCounterMode; GFLOP/s = GFLOP / after s; "
          "max grad rel diff = max |g_before - g_after| over every parameter / max |g_before|; "
          "f32 err = the same between each side and the step computed in float64 (float32's own error: a "
          "before/after difference below it is rounding); "
          "GEMM / conv = this run's 2048² torch.mm rate and the step's largest convolution alone (same round-robin); "
          "bound = max(GEMM, conv) / the step's GFLOP/s: the largest speed-up possible without cutting FLOPs "
          "(bound/before: the same from the code before issue #20)")


def print_tables(pre: list[dict], loc: list[dict], batch: int, frames: int, width: int) -> None:
    print(f"pretraining step, agcn_loc width {width}, N={batch} T={frames} (interleaved medians); "
          f"reference MoCo = {REFERENCE!r} (the official per-subset formulation)")
    print(f"{'method':<28} {'step s':>7} {'clips/s':>8} {'views s':>8} {'views/step':>10} {'vs ref MoCo':>11} "
          f"{'vs fast MoCo':>12}")
    ref = next(r for r in pre if r["name"] == REFERENCE)
    moco = next(r for r in pre if "plain MoCo" in r["name"])
    for r in pre:
        print(f"{r['name']:<28} {r['step_s']:>7.3f} {r['clips_s']:>8.1f} {r['views_s']:>8.3f} "
              f"{r['views_s'] / r['step_s']:>10.2f} {ref['step_s'] / r['step_s']:>10.2f}x "
              f"{moco['step_s'] / r['step_s']:>11.2f}x")
    print("training step (forward+backward), fast paths vs plain per-subset baseline")
    print(f"{'model':<36} {'base s':>7} {'fast s':>7} {'speedup':>7}")
    for r in loc:
        print(f"{r['name']:<36} {r['base_s']:>7.3f} {r['fast_s']:>7.3f} {r['base_s'] / r['fast_s']:>6.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--loc-frames", type=int, default=192)
    ap.add_argument("--threads", type=int, default=None, help="default 2; 1 with --steps (the configs' threads)")
    ap.add_argument("--steps", action="store_true", help="only the example configs' training steps (table 3)")
    ap.add_argument("--processes", type=int, default=0,
                    help="with --steps: also time each side in its own processes (this many pairs), the allocator "
                         "set as the command line sets it")
    ap.add_argument("--step-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads or (1 if args.steps or args.step_child else 2))
    if args.step_child:
        side, index = args.step_child.split(":")
        _child_steps(side, int(index), args.repeats)
        return
    if args.steps:
        if args.processes:
            print_process_rows(process_rows(args.processes, args.repeats), torch.get_num_threads(),
                               args.processes)
        print_steps(step_rows(args.repeats), torch.get_num_threads(), args.repeats)
        return
    pre = pretrain_rows(args.batch, args.frames, args.width, args.repeats)
    loc = loc_rows(args.batch, args.loc_frames, args.repeats)
    print_tables(pre, loc, args.batch, args.frames, args.width)


if __name__ == "__main__":
    main()
