"""Import and checkpoint-loading times (targets: ``import skelzoo`` < 1 s, ``load_model(pretrained=True)`` < 0.3 s).

``import skelzoo`` is lazy (it does not import torch), so the first model call pays torch's import. The rows
separate the costs, each measured in a fresh interpreter, median of ``--repeats`` (the scripts interleaved):

- ``import skelzoo``: the lazy import alone (target 1.0 s);
- ``import torch``: torch alone, for reference (skelzoo cannot make it faster);
- ``skelzoo API ready``: after ``import torch``, ``from skelzoo import load_model; skelzoo.list_models()``
  (the model modules imported, the built-in architectures registered): skelzoo's own overhead on top of torch;
- ``load_model(NAME, pretrained=True)`` once the API is ready (target 0.3 s; a bundled/cached checkpoint,
  reported n/a with the error when no weights are available offline), then a random-init build;
- the heaviest top-level imports (``-X importtime``, cumulative) of what that first API use loads.

    python benchmarks/loading.py [--repeats 3] [--model stgcn_ssl_ufusion.snipclr_bandai]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skelzoo.models import DEFAULT_LOCALIZER as DEFAULT_MODEL  # noqa: E402  (bundled: offline)

_IMPORT = """
import json, sys, time
t = time.perf_counter(); import skelzoo; dt = time.perf_counter() - t
print(json.dumps({"import_s": dt, "torch_imported": "torch" in sys.modules}))
"""
_TORCH = """
import json, time
t = time.perf_counter(); import torch; print(json.dumps({"torch_s": time.perf_counter() - t}))
"""
_API = r"""
import json, sys, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
import skelzoo
from skelzoo import load_model
skelzoo.list_models()
t2 = time.perf_counter()
name = sys.argv[1]
try:
    load_model(name, pretrained=True); t3 = time.perf_counter(); err = None
except Exception as e:  # no weights offline
    t3 = time.perf_counter(); err = f"{type(e).__name__}: {e}"[:200]
t4 = time.perf_counter(); load_model(name); t5 = time.perf_counter()
print(json.dumps({"torch_s": t1 - t0, "api_s": t2 - t1, "pretrained_s": t3 - t2, "build_s": t5 - t4, "error": err}))
"""
# what ``import skelzoo`` + the first model-API use load, as plain import statements: modules that skelzoo's
# ``__getattr__`` imports with importlib.import_module are not logged by -X importtime; torch first, on its own row
_BREAKDOWN = "import torch, skelzoo, skelzoo.io, skelzoo.models"


def _json(code: str, *args: str) -> dict:
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def _top_imports(n: int = 8, code: str = _BREAKDOWN) -> list[tuple[float, str]]:
    """The ``n`` heaviest top-level imports of ``code`` (-X importtime, cumulative seconds)."""
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True)
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
        if len(name) - len(name.lstrip()) <= 1:  # top-level imports only
            rows.append((cum, name.strip()))
    return sorted(rows, reverse=True)[:n]


def run(repeats: int = 3, model: str = DEFAULT_MODEL) -> dict:
    """Median seconds of each row (fresh interpreter per measurement, the three scripts interleaved)."""
    imp, torch_alone, api = [], [], []
    for _ in range(repeats):
        imp.append(_json(_IMPORT))
        torch_alone.append(_json(_TORCH))
        api.append(_json(_API, model))

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    return {"import_s": med(imp, "import_s"), "import_pulls_torch": any(r["torch_imported"] for r in imp),
            "torch_s": med(torch_alone, "torch_s"), "api_s": med(api, "api_s"),
            "pretrained_s": med(api, "pretrained_s"), "build_s": med(api, "build_s"), "error": api[-1]["error"],
            "model": model, "repeats": repeats, "top": _top_imports()}


def print_table(r: dict) -> None:
    print(f"loading (fresh interpreter each, median of {r.get('repeats', '?')})")
    print(f"{'what':<64} {'seconds':>8} {'target':>7} {'ratio to target':>15}")
    label = "import skelzoo" + (" (imports torch!)" if r["import_pulls_torch"] else " (lazy: torch not imported)")
    print(f"{label:<64} {r['import_s']:>8.3f} {1.0:>7.2f} {r['import_s'] / 1.0:>15.2f}")
    print(f"{'import torch alone (reference)':<64} {r['torch_s']:>8.3f}")
    print(f"{'skelzoo API ready after import torch (own overhead)':<64} {r['api_s']:>8.3f}")
    label = f"load_model({r['model']!r}, pretrained=True)"
    if r["error"]:
        print(f"{label:<64} {'n/a':>8} {0.3:>7.2f}   ({r['error']})")
    else:
        print(f"{label:<64} {r['pretrained_s']:>8.3f} {0.3:>7.2f} {r['pretrained_s'] / 0.3:>15.2f}")
    print(f"{'load_model (random init)':<64} {r['build_s']:>8.3f}")
    print(f"heaviest top-level imports of `{_BREAKDOWN}` (-X importtime, cumulative s): "
          + ", ".join(f"{name} {s:.2f}" for s, name in r["top"]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="default: the bundled default localizer")
    args = ap.parse_args()
    print_table(run(args.repeats, args.model))


if __name__ == "__main__":
    main()
