"""The SnipCLR ablation on the Bandai-Namco untrimmed benchmark: pretrain -> localize, every row, every seed.

Rows: encoder initialisation (``scratch`` / ``skeletonclr`` = global contrast only / ``snipclr`` = + snippet
contrast) x localization head (``simple`` = last stage + linear + interpolation, ``ufusion`` = U-shaped
multiscale fusion neck). Columns: protocols ``linear`` (frozen encoder), ``finetune`` and ``semi`` (20 % of the
labelled sequences). Every run is a plain ``skelzoo pretrain`` / ``skelzoo finetune`` command with the configs of
``examples/configs/ablation/``; the commands are printed and written to ``<out>/commands.txt``.

Resumable: a finished run leaves ``summary.json`` in its folder and is skipped; an interrupted one resumes from
its ``last.pt``. Runs go through a small process pool (``--jobs``, one thread each) in seed-major order, so an
interrupted campaign still has complete seeds. ``table`` aggregates the finished runs (mean ± sample standard
deviation over seeds, LAST epoch on the test split) into a markdown table and a JSON file.

Two recipes. ``v1`` (the first ablation): ``pretrain.yaml`` / ``finetune.yaml``, one pretraining seed,
runs named ``<protocol>-<init>-<head>-s<seed>``. ``v2`` (the second pretraining recipe): ``pretrain_v2.yaml`` /
``finetune_v2.yaml``, several pretraining seeds (``--pretrain-seeds``), every finetuning seed on every
pretraining seed, runs named ``<protocol>-<init>-<head>-p<pretrain seed>-s<seed>`` (scratch: ``-s<seed>`` only),
encoders taken at their best validation-kNN epoch (``encoder_best``). ``table`` adds, per protocol and head, a
paired comparison of ``snipclr`` against ``skeletonclr`` over the (pretraining seed, finetuning seed) pairs: mean
difference, its sample standard deviation and an exact two-sided sign-flip permutation p-value.

Usage::

    skelzoo data prepare bandai-untrimmed --data ../shared/data --out data/bandai_untrimmed
    python scripts/bandai_ablation.py run --data-root data/bandai_untrimmed --out runs/ablation --jobs 2
    python scripts/bandai_ablation.py table --out runs/ablation            # markdown on stdout + table.json
    python scripts/bandai_ablation.py run --recipe v2 --data-root data/bu_val --out runs/v2 \
        --pretrain-seeds 0 1 2 --heads ufusion --jobs 1
    python scripts/bandai_ablation.py table --recipe v2 --out runs/v2
    python scripts/bandai_ablation.py run --recipe v2 --data-root data/bu_val --out runs/v2_agcn \
        --encoder agcn_loc --encoder-args '{"base_channels": 16}' --pretrain-seeds 0 1 2 --heads ufusion

``--encoder`` / ``--encoder-args`` choose the backbone (default the quarter-width ``stgcn_ssl``; the paper's
encoder is ``agcn_loc``); ``--protocols`` a subset of the protocols.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "examples" / "configs" / "ablation"
INITS = ("scratch", "skeletonclr", "snipclr")
HEADS = ("simple", "ufusion")
PROTOCOLS = ("linear", "finetune", "semi")
ENCODER = "stgcn_ssl"
#: config files, pretraining data and the encoder folder of each recipe
RECIPES = {
    "v1": {"pretrain": "pretrain.yaml", "finetune": "finetune.yaml", "encoder": "", "pretrain_root": True},
    "v2": {"pretrain": "pretrain_v2.yaml", "finetune": "finetune_v2.yaml", "encoder": "encoder_best",
           "pretrain_root": False},  # pretrain_v2.yaml names its own (pooled) data roots
}
#: the semi protocol sees 20 % of the sequences per epoch: 5x the epochs keeps the number of steps equal
SEMI = {"run.epochs": 20, "run.eval_every": 20, "optim.steps": "[15]"}
METRICS = ("map_clean@0.1", "map_clean@0.2", "map_clean@0.3", "map_clean@0.4", "map_clean@0.5", "map_clean_avg",
           "map_line_avg", "F1@50", "accuracy")


@dataclass(frozen=True)
class Run:
    """One command of the campaign."""

    name: str
    out: Path
    argv: tuple[str, ...]

    @property
    def done(self) -> bool:
        return (self.out / "summary.json").is_file()


@dataclass(frozen=True)
class Encoder:
    """The backbone of the ablation: a registered architecture and its builder arguments (e.g. a width)."""

    arch: str = ENCODER
    args: tuple[tuple[str, Any], ...] = ()

    def pretrain_sets(self) -> list[str]:
        if self.arch == ENCODER and not self.args:
            return []
        return ["--set", f"model.backbone={self.arch}", "--set", f"model.backbone_args={json.dumps(dict(self.args))}"]

    def model_args(self) -> str | None:
        """``model.model_args`` of its localizers (the localizer sizes the persons itself)."""
        bb = {k: v for k, v in self.args if k != "num_person"}
        return json.dumps({"backbone_args": bb}) if bb else None


def pretrain_runs(out: Path, data_root: str, seed: int, recipe: str = "v1", encoder: Encoder = Encoder()) -> list[Run]:
    cfg = RECIPES[recipe]
    runs = []
    for method in ("skeletonclr", "snipclr"):
        d = out / f"pretrain_{method}_s{seed}"
        argv = ["skelzoo", "pretrain", "--config", str(CONFIGS.relative_to(ROOT) / cfg["pretrain"])]
        if cfg["pretrain_root"]:
            argv += ["--set", f"data.root={data_root}"]
        argv += encoder.pretrain_sets()
        argv += ["--set", f"model.method={method}", "--set", f"run.seed={seed}", "--output-dir", str(d)]
        runs.append(Run(d.name, d, tuple(argv)))
    return runs


def finetune_runs(out: Path, data_root: str, seeds: list[int], pretrain_seeds: list[int], recipe: str = "v1",
                  inits: tuple[str, ...] = INITS, heads: tuple[str, ...] = HEADS,
                  protocols: tuple[str, ...] = PROTOCOLS, encoder: Encoder = Encoder()) -> list[Run]:
    """Seed-major: every (finetuning seed, pretraining seed) pair is complete for all rows before the next."""
    cfg = RECIPES[recipe]
    runs = []
    for seed in seeds:
        for k, pseed in enumerate(pretrain_seeds):
            for protocol in protocols:
                for init in inits:
                    if init == "scratch" and k > 0:
                        continue  # a scratch row has no pretraining seed
                    for head in heads:
                        if recipe == "v1":
                            name = f"{protocol}-{init}-{head}-s{seed}"
                        else:
                            name = f"{protocol}-{init}-{head}" + (f"-p{pseed}" if init != "scratch" else "") + f"-s{seed}"
                        d = out / "finetune" / name
                        sets = {"protocol": protocol, "model.arch": f"{encoder.arch}_{head}", "run.seed": seed,
                                "data.root": data_root}
                        if encoder.model_args():
                            sets["model.model_args"] = encoder.model_args()
                        if init != "scratch":
                            enc = out / f"pretrain_{init}_s{pseed}"
                            sets["model.pretrained"] = str(enc / cfg["encoder"]) if cfg["encoder"] else str(enc)
                        if protocol == "semi":
                            sets.update(SEMI)
                        argv = ["skelzoo", "finetune", "--config", str(CONFIGS.relative_to(ROOT) / cfg["finetune"])]
                        for key, v in sets.items():
                            argv += ["--set", f"{key}={v}"]
                        argv += ["--output-dir", str(d)]
                        runs.append(Run(name, d, tuple(argv)))
    return runs


#: ``_execute``'s return code for a run another live campaign process holds (``running.lock``) or finished meanwhile
BUSY = -1


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _take_lock(out: Path) -> bool:
    """Claim ``out/running.lock`` for this process (its pid inside); a lock left by a dead process is taken
    over. False when a live process holds it, so two campaign processes on one folder never run one run twice."""
    lock = out / "running.lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                return False
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def _execute(run: Run) -> tuple[Run, float, int]:
    """Run one command (resuming when it left a checkpoint); the JSON summary it prints -> summary.json.
    Returns :data:`BUSY` without running when the run finished meanwhile or another live process runs it."""
    run.out.mkdir(parents=True, exist_ok=True)
    if run.done or not _take_lock(run.out):
        return run, 0.0, BUSY
    try:
        return _execute_locked(run)
    finally:
        (run.out / "running.lock").unlink(missing_ok=True)


def _execute_locked(run: Run) -> tuple[Run, float, int]:
    argv = list(run.argv)
    if (run.out / "last.pt").is_file():
        argv.append("--resume")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    with open(run.out / "stdout.txt", "w") as so, open(run.out / "stderr.txt", "w") as se:
        rc = subprocess.call(argv, stdout=so, stderr=se, cwd=ROOT, env=env)
    dt = time.perf_counter() - t0
    if rc == 0:
        text = (run.out / "stdout.txt").read_text()
        summary = json.loads(text[text.index("{"):])
        summary["wall_s"] = dt
        tmp = run.out / "summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=2))
        tmp.replace(run.out / "summary.json")
    return run, dt, rc


def run_all(runs: list[Run], jobs: int) -> int:
    todo = [r for r in runs if not r.done]
    print(f"{len(runs) - len(todo)} of {len(runs)} runs already done; {len(todo)} to go with {jobs} job(s)", flush=True)
    failures = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_execute, r) for r in todo]
        for i, fut in enumerate(as_completed(futures), 1):
            run, dt, rc = fut.result()
            if rc == BUSY:
                print(f"[{i}/{len(todo)}] {run.name}: skipped (finished or running in another process)", flush=True)
                continue
            status = "ok" if rc == 0 else f"FAILED (exit {rc}, see {run.out / 'stderr.txt'})"
            failures += rc != 0
            print(f"[{i}/{len(todo)}] {run.name}: {status} in {dt:.0f} s", flush=True)
    return failures


def _mean_std(values: list[float]) -> tuple[float, float]:
    m = sum(values) / len(values)
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else float("nan")
    return m, s


def _parse_name(name: str) -> tuple[str, str, str, int | None, int]:
    """``<protocol>-<init>-<head>[-p<pretrain seed>]-s<seed>`` -> its parts (pretrain seed None if absent)."""
    parts = name.split("-")
    protocol, init, head = parts[:3]
    pseed = int(parts[3][1:]) if len(parts) == 5 else None
    return protocol, init, head, pseed, int(parts[-1][1:])


def collect(out: Path) -> dict[str, dict]:
    """``{"<protocol>-<init>-<head>": {"seeds": [...], "pretrain_seeds": [...], "metrics": {name: [values]}}}``
    of the finished runs (LAST epoch on the test split)."""
    table: dict[str, dict] = {}
    for f in sorted((out / "finetune").glob("*/summary.json")):
        protocol, init, head, pseed, seed = _parse_name(f.parent.name)
        last = json.loads(f.read_text())["last"]
        row = table.setdefault(f"{protocol}-{init}-{head}", {"protocol": protocol, "init": init, "head": head,
                                                             "seeds": [], "pretrain_seeds": [],
                                                             "metrics": {m: [] for m in METRICS}})
        row["seeds"].append(seed)
        row["pretrain_seeds"].append(pseed)
        for m in METRICS:
            row["metrics"][m].append(float(last[m]))
    return table


def sign_flip_p(diffs: list[float]) -> float:
    """Exact two-sided p-value of the paired sign-flip permutation test of mean(diffs) = 0 (all 2^n flips)."""
    n = len(diffs)
    observed = abs(sum(diffs))
    hits = 0
    for mask in range(1 << n):
        total = sum(-d if mask >> i & 1 else d for i, d in enumerate(diffs))
        hits += abs(total) >= observed - 1e-12
    return hits / (1 << n)


def paired_markdown(table: dict[str, dict], metric: str = "map_clean_avg", a: str = "snipclr",
                    b: str = "skeletonclr") -> str:
    """``a`` minus ``b`` per protocol and head, paired on (pretraining seed, finetuning seed)."""
    lines = [f"| protocol | head | pairs | {a} | {b} | difference, mean ± sd | sign-flip p |", "|---|---|---|---|---|---|---|"]
    for protocol in PROTOCOLS:
        for head in HEADS:
            ra, rb = table.get(f"{protocol}-{a}-{head}"), table.get(f"{protocol}-{b}-{head}")
            if ra is None or rb is None:
                continue
            va = dict(zip(zip(ra["pretrain_seeds"], ra["seeds"]), ra["metrics"][metric]))
            vb = dict(zip(zip(rb["pretrain_seeds"], rb["seeds"]), rb["metrics"][metric]))
            keys = sorted(set(va) & set(vb), key=str)
            if not keys:
                continue
            diffs = [va[k] - vb[k] for k in keys]
            ma, _ = _mean_std([va[k] for k in keys])
            mb, _ = _mean_std([vb[k] for k in keys])
            md, sd = _mean_std(diffs)
            sd_txt = f" ± {sd:.1f}" if not math.isnan(sd) else ""
            lines.append(f"| {protocol} | {head} | {len(keys)} | {ma:.1f} | {mb:.1f} | {md:+.1f}{sd_txt} | "
                         f"{sign_flip_p(diffs):.3f} |")
    return "\n".join(lines) + "\n"


def markdown(table: dict[str, dict]) -> str:
    cols = ("map_clean@0.1", "map_clean@0.2", "map_clean@0.3", "map_clean@0.4", "map_clean@0.5", "map_clean_avg",
            "F1@50")
    lines = []
    for protocol in PROTOCOLS:
        lines += [f"**{protocol}**", "",
                  "| encoder init | head | mAP@0.1 | mAP@0.2 | mAP@0.3 | mAP@0.4 | mAP@0.5 | avg mAP | F1@50 | seeds |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for init in INITS:
            for head in HEADS:
                row = table.get(f"{protocol}-{init}-{head}")
                if row is None:
                    continue
                cells = []
                for c in cols:
                    m, s = _mean_std(row["metrics"][c])
                    cells.append(f"{m:.1f} ± {s:.1f}" if not math.isnan(s) else f"{m:.1f}")
                pseeds = sorted({p for p in row["pretrain_seeds"] if p is not None})
                n = f"{len(row['seeds'])}" + (f" ({len(pseeds)} pretraining)" if len(pseeds) > 1 else "")
                lines.append(f"| {init} | {head} | " + " | ".join(cells) + f" | {n} |")
        lines.append("")
    return "\n".join(lines)


def per_seed_markdown(table: dict[str, dict]) -> str:
    """Every run's average mAP and F1@50, one row per (protocol, init, head), one column per seed."""
    seeds = sorted({s for row in table.values() for s in zip(row["pretrain_seeds"], row["seeds"])},
                   key=lambda ps: (-1 if ps[0] is None else ps[0], ps[1]))  # scratch (no pretraining seed) first

    def label(ps: tuple[int | None, int]) -> str:
        return (f"p{ps[0]} " if ps[0] is not None else "") + f"seed {ps[1]}"

    lines = ["| protocol | encoder init | head | " + " | ".join(f"{label(s)}: avg mAP / F1@50" for s in seeds) + " |",
             "|---|---|---|" + "---|" * len(seeds)]
    for key, row in table.items():
        by_seed = dict(zip(zip(row["pretrain_seeds"], row["seeds"]),
                           zip(row["metrics"]["map_clean_avg"], row["metrics"]["F1@50"])))
        cells = [f"{by_seed[s][0]:.1f} / {by_seed[s][1]:.1f}" if s in by_seed else "-" for s in seeds]
        lines.append(f"| {row['protocol']} | {row['init']} | {row['head']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pretrain_markdown(out: Path, seed: int = 0, every: int = 5) -> str:
    """Loss and instance accuracy of the pretraining runs every ``every`` epochs (from their log.jsonl)."""
    logs = {}
    for method in ("skeletonclr", "snipclr"):
        f = out / f"pretrain_{method}_s{seed}" / "log.jsonl"
        if f.is_file():
            recs = [json.loads(ln) for ln in f.read_text().splitlines() if ln.strip()]
            logs[method] = {r["epoch"]: r for r in recs if "time_s" in r}
    epochs = sorted({e for log in logs.values() for e in log if e == 1 or e % every == 0})
    lines = ["| epoch | " + " | ".join(f"{m}: loss (instance / snippet), instance top-1" for m in logs) + " |",
             "|---|" + "---|" * len(logs)]
    for e in epochs:
        cells = []
        for log in logs.values():
            r = log.get(e)
            if r is None:
                cells.append("-")
                continue
            snip = r.get("train/loss_snippet")
            part = f"{r['train/loss_instance']:.2f}" + (f" / {snip:.2f}" if snip is not None else "")
            cells.append(f"{r['train/loss']:.2f} ({part}), {100 * r['train/acc_instance']:.0f} %")
        lines.append(f"| {e} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run (or resume) the campaign")
    r.add_argument("--recipe", choices=sorted(RECIPES), default="v1")
    r.add_argument("--data-root", default="data/bandai_untrimmed")
    r.add_argument("--out", default="runs/ablation", type=Path)
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="finetuning seeds")
    r.add_argument("--pretrain-seeds", type=int, nargs="+", default=[0], help="pretraining seeds")
    r.add_argument("--inits", nargs="+", choices=INITS, default=list(INITS))
    r.add_argument("--heads", nargs="+", choices=HEADS, default=list(HEADS))
    r.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    r.add_argument("--encoder", default=ENCODER, help=f"backbone architecture (default {ENCODER})")
    r.add_argument("--encoder-args", default="{}", help='its builder arguments as JSON, e.g. \'{"base_channels": 16}\'')
    r.add_argument("--skip-pretrain", action="store_true",
                   help="only finetune, on the pretraining runs that are finished (others are skipped)")
    r.add_argument("--jobs", type=int, default=2, help="runs in parallel (one thread each)")
    r.add_argument("--dry-run", action="store_true", help="print the commands only")
    t = sub.add_parser("table", help="aggregate finished runs")
    t.add_argument("--recipe", choices=sorted(RECIPES), default="v1")
    t.add_argument("--out", default="runs/ablation", type=Path)
    t.add_argument("--details", action="store_true", help="also every run per seed and the pretraining curves")
    args = p.parse_args(argv)

    if args.cmd == "table":
        table = collect(args.out)
        for row in table.values():
            row["mean"] = {m: _mean_std(v)[0] for m, v in row["metrics"].items()}
            row["std"] = {m: _mean_std(v)[1] for m, v in row["metrics"].items()}
        (args.out / "table.json").write_text(json.dumps(table, indent=2))
        print(markdown(table))
        print("Paired: snipclr minus skeletonclr, clean avg mAP (same pretraining and finetuning seeds):\n")
        print(paired_markdown(table))
        print("Paired: snipclr minus skeletonclr, F1@50:\n")
        print(paired_markdown(table, metric="F1@50"))
        if args.details:
            print("Per run (test split, last epoch):\n")
            print(per_seed_markdown(table))
            if args.recipe == "v1":
                print("Pretraining (per epoch, from log.jsonl):\n")
                print(pretrain_markdown(args.out))
        return 0

    out = args.out.resolve()
    enc = Encoder(args.encoder, tuple(sorted(json.loads(args.encoder_args).items())))
    pre = [r for s in args.pretrain_seeds for r in pretrain_runs(out, args.data_root, s, args.recipe, enc)]
    fine = finetune_runs(out, args.data_root, args.seeds, args.pretrain_seeds, args.recipe, tuple(args.inits),
                         tuple(args.heads), tuple(args.protocols), enc)
    out.mkdir(parents=True, exist_ok=True)
    (out / "commands.txt").write_text("".join(shlex.join(r.argv) + "\n" for r in pre + fine))
    if args.dry_run:
        print((out / "commands.txt").read_text(), end="")
        return 0
    if args.skip_pretrain:
        ready = {r.out for r in pre if r.done}
        fine = [r for r in fine if "model.pretrained" not in " ".join(r.argv)
                or any(f"model.pretrained={d}" in " ".join(r.argv) for d in ready)]
    else:
        if run_all(pre, args.jobs):
            print("pretraining failed; not starting the finetuning runs", file=sys.stderr)
            return 1
    return 1 if run_all(fine, args.jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
