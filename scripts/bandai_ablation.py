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

Usage::

    skelzoo data prepare bandai-untrimmed --data ../shared/data --out data/bandai_untrimmed
    python scripts/bandai_ablation.py run --data-root data/bandai_untrimmed --out runs/ablation --jobs 2
    python scripts/bandai_ablation.py table --out runs/ablation            # markdown on stdout + table.json
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

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "examples" / "configs" / "ablation"
INITS = ("scratch", "skeletonclr", "snipclr")
HEADS = ("simple", "ufusion")
PROTOCOLS = ("linear", "finetune", "semi")
ENCODER = "stgcn_ssl"
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


def pretrain_runs(out: Path, data_root: str, seed: int) -> list[Run]:
    runs = []
    for method in ("skeletonclr", "snipclr"):
        d = out / f"pretrain_{method}_s{seed}"
        argv = ("skelzoo", "pretrain", "--config", str(CONFIGS.relative_to(ROOT) / "pretrain.yaml"),
                "--set", f"data.root={data_root}", "--set", f"model.method={method}", "--set", f"run.seed={seed}",
                "--output-dir", str(d))
        runs.append(Run(d.name, d, argv))
    return runs


def finetune_runs(out: Path, data_root: str, seeds: list[int], pretrain_seed: int) -> list[Run]:
    runs = []
    for seed in seeds:
        for protocol in PROTOCOLS:
            for init in INITS:
                for head in HEADS:
                    name = f"{protocol}-{init}-{head}-s{seed}"
                    d = out / "finetune" / name
                    sets = {"protocol": protocol, "model.arch": f"{ENCODER}_{head}", "run.seed": seed,
                            "data.root": data_root}
                    if init != "scratch":
                        sets["model.pretrained"] = str(out / f"pretrain_{init}_s{pretrain_seed}")
                    if protocol == "semi":
                        sets.update(SEMI)
                    argv = ["skelzoo", "finetune", "--config", str(CONFIGS.relative_to(ROOT) / "finetune.yaml")]
                    for k, v in sets.items():
                        argv += ["--set", f"{k}={v}"]
                    argv += ["--output-dir", str(d)]
                    runs.append(Run(name, d, tuple(argv)))
    return runs


def _execute(run: Run) -> tuple[Run, float, int]:
    """Run one command (resuming when it left a checkpoint); the JSON summary it prints -> summary.json."""
    run.out.mkdir(parents=True, exist_ok=True)
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
            status = "ok" if rc == 0 else f"FAILED (exit {rc}, see {run.out / 'stderr.txt'})"
            failures += rc != 0
            print(f"[{i}/{len(todo)}] {run.name}: {status} in {dt:.0f} s", flush=True)
    return failures


def _mean_std(values: list[float]) -> tuple[float, float]:
    m = sum(values) / len(values)
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else float("nan")
    return m, s


def collect(out: Path) -> dict[str, dict]:
    """``{"<protocol>-<init>-<head>": {"seeds": [...], "metrics": {name: [values...]}}}`` of finished runs."""
    table: dict[str, dict] = {}
    for f in sorted((out / "finetune").glob("*/summary.json")):
        protocol, init, head, seed = f.parent.name.split("-")
        last = json.loads(f.read_text())["last"]
        row = table.setdefault(f"{protocol}-{init}-{head}", {"protocol": protocol, "init": init, "head": head,
                                                             "seeds": [], "metrics": {m: [] for m in METRICS}})
        row["seeds"].append(int(seed[1:]))
        for m in METRICS:
            row["metrics"][m].append(float(last[m]))
    return table


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
                lines.append(f"| {init} | {head} | " + " | ".join(cells) + f" | {len(row['seeds'])} |")
        lines.append("")
    return "\n".join(lines)


def per_seed_markdown(table: dict[str, dict]) -> str:
    """Every run's average mAP and F1@50, one row per (protocol, init, head), one column per seed."""
    seeds = sorted({s for row in table.values() for s in row["seeds"]})
    lines = ["| protocol | encoder init | head | " + " | ".join(f"seed {s}: avg mAP / F1@50" for s in seeds) + " |",
             "|---|---|---|" + "---|" * len(seeds)]
    for key, row in table.items():
        by_seed = dict(zip(row["seeds"], zip(row["metrics"]["map_clean_avg"], row["metrics"]["F1@50"])))
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
    r.add_argument("--data-root", default="data/bandai_untrimmed")
    r.add_argument("--out", default="runs/ablation", type=Path)
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="finetuning seeds")
    r.add_argument("--pretrain-seed", type=int, default=0)
    r.add_argument("--jobs", type=int, default=2, help="runs in parallel (one thread each)")
    r.add_argument("--dry-run", action="store_true", help="print the commands only")
    t = sub.add_parser("table", help="aggregate finished runs")
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
        if args.details:
            print("Per run (test split, last epoch):\n")
            print(per_seed_markdown(table))
            print("Pretraining (per epoch, from log.jsonl):\n")
            print(pretrain_markdown(args.out))
        return 0

    out = args.out.resolve()
    pre = pretrain_runs(out, args.data_root, args.pretrain_seed)
    fine = finetune_runs(out, args.data_root, args.seeds, args.pretrain_seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "commands.txt").write_text("".join(shlex.join(r.argv) + "\n" for r in pre + fine))
    if args.dry_run:
        print((out / "commands.txt").read_text(), end="")
        return 0
    failures = run_all(pre, args.jobs)
    if failures:
        print("pretraining failed; not starting the finetuning runs", file=sys.stderr)
        return 1
    return 1 if run_all(fine, args.jobs) else 0


if __name__ == "__main__":
    sys.exit(main())
