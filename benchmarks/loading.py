"""Import and checkpoint-loading times (targets: ``import skelzoo`` < 1 s, ``load_model(pretrained=True)`` < 0.3 s).

Each measurement runs in a fresh interpreter (``-X importtime`` for the import breakdown), median of
``--repeats``. The pretrained load uses a bundled/cached checkpoint; it is skipped (reported) when no
weights are available offline.

    python benchmarks/loading.py [--repeats 3] [--model stgcn_ssl_ufusion.snipclr_bandai]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

_IMPORT = "import time; t=time.perf_counter(); import skelzoo; print(time.perf_counter()-t)"
_LOAD = r"""
import json, time, sys
t0 = time.perf_counter(); import skelzoo; t1 = time.perf_counter()
name = sys.argv[1]
try:
    m = skelzoo.load_model(name, pretrained=True); t2 = time.perf_counter(); err = None
except Exception as e:  # no weights offline
    t2 = time.perf_counter(); err = f"{type(e).__name__}: {e}"[:200]
t3 = time.perf_counter(); skelzoo.load_model(name); t4 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "pretrained_s": t2 - t1, "build_s": t4 - t3, "error": err}))
"""


def _top_imports(n: int = 8) -> list[tuple[float, str]]:
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", "import skelzoo"], capture_output=True, text=True)
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        parts = line.split("|")
        try:
            cum = int(parts[1]) / 1e6
        except (IndexError, ValueError):
            continue
        name = parts[2].rstrip()
        if len(name) - len(name.lstrip()) <= 3:  # top-level imports only
            rows.append((cum, name.strip()))
    return sorted(rows, reverse=True)[:n]


def run(repeats: int = 3, model: str = "stgcnpp") -> dict:
    imp = [float(subprocess.run([sys.executable, "-c", _IMPORT], capture_output=True, text=True,
                                check=True).stdout) for _ in range(repeats)]
    loads = [json.loads(subprocess.run([sys.executable, "-c", _LOAD, model], capture_output=True, text=True,
                                       check=True).stdout.strip().splitlines()[-1]) for _ in range(repeats)]
    return {"import_s": statistics.median(imp), "pretrained_s": statistics.median(r["pretrained_s"] for r in loads),
            "build_s": statistics.median(r["build_s"] for r in loads), "error": loads[-1]["error"],
            "model": model, "top": _top_imports()}


def print_table(r: dict) -> None:
    print("loading (fresh interpreter each, median)")
    print(f"{'what':<36} {'seconds':>8} {'target':>7} {'ratio to target':>15}")
    print(f"{'import skelzoo':<36} {r['import_s']:>8.3f} {1.0:>7.2f} {r['import_s'] / 1.0:>15.2f}")
    label = f"load_model({r['model']!r}, pretrained=True)"
    if r["error"]:
        print(f"{label:<36} {'n/a':>8} {0.3:>7.2f}   ({r['error']})")
    else:
        print(f"{label:<36} {r['pretrained_s']:>8.3f} {0.3:>7.2f} {r['pretrained_s'] / 0.3:>15.2f}")
    print(f"{'load_model (random init)':<36} {r['build_s']:>8.3f}")
    print("heaviest top-level imports (-X importtime, cumulative s): "
          + ", ".join(f"{name} {s:.2f}" for s, name in r["top"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default="stgcn_ssl_ufusion.snipclr_bandai", help="default: the bundled default localizer")
    args = ap.parse_args()
    print_table(run(args.repeats, args.model))


if __name__ == "__main__":
    main()
