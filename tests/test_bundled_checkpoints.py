"""skelzoo's own trained checkpoints: bundled inside the package (offline), hash-checked, under the wheel's
weight budget, listed with their licence, and carrying exactly the numbers of ``docs/results.md``."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import skelzoo
from skelzoo.models import _builder as api
from skelzoo.models import get_entry, list_models

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "results.md"
#: skelzoo's own self-supervised encoders: every registered features checkpoint that skelzoo trained
OWN = tuple(n for n in list_models(pretrained=True, task="features")
            if skelzoo.model_info(n)["source"].startswith("trained by skelzoo"))


def _bundled() -> list[tuple[str, object]]:
    out = []
    for name in list_models(pretrained=True):
        arch, tag = name.split(".", 1)
        w = get_entry(arch).weights[tag]
        if w.file:
            out.append((name, w))
    return out


def test_every_bundled_file_is_registered_and_within_budget():
    files = {w.file for _, w in _bundled()}
    on_disk = {p.name for p in api.ASSETS.glob("*.safetensors")}
    assert files == on_disk, "every bundled file has exactly one registry entry"
    total = sum((api.ASSETS / f).stat().st_size for f in files)
    # the 3-D and 2-D localizers, a baseline, every family's localizer of the backbone table and the encoders that
    # pass the probe gate: float16 where the outputs agree (scripts/bundle_float16.py, issue #17). The budget keeps
    # the wheel far below PyPI's 100 MB limit
    assert total < 30_000_000, f"bundled weights {total / 1e6:.2f} MB exceed the 30 MB wheel budget"


@pytest.mark.parametrize("name", OWN)
def test_own_encoders_load_offline_with_their_metadata(name, monkeypatch):
    monkeypatch.setenv("SKELZOO_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    info = skelzoo.model_info(name)
    pre = "ntu_bodysize"  # the second pretraining recipe: body size normalised
    assert info["license"] == "CC-BY-NC-4.0" and info["preprocess"] == pre and info["fps"] == 30.0
    assert info["location"].startswith("bundled:") and len(info["sha256"]) == 64
    assert info["metrics"], "measured metrics from docs/results.md"
    model = skelzoo.load_model(name)
    assert model.preprocess == pre and model.skelzoo_config["tag"] == name.split(".")[1]
    with torch.no_grad():
        feats = model.forward_features(torch.zeros(1, 3, 32, 25, 1))
    assert torch.isfinite(feats).all()


def test_cli_lists_own_checkpoints():
    out = subprocess.run([sys.executable, "-c", "from skelzoo.cli.main import main; main()", "list", "--pretrained"], capture_output=True, text=True,
                         check=True).stdout
    for name in OWN:
        assert name in out


def test_every_shipped_encoder_beats_random_encoders():
    """The shipping gate (issue #14): each of skelzoo's own encoders carries the validation-probe evidence that,
    over its pretraining seeds, it beats random encoders of its architecture (recomputed here from the recorded
    per-seed accuracies), and the registry's metrics show the means."""
    from skelzoo.evaluation.probe import beats_random, compare_to_random
    from skelzoo.models import snipclr_families as fam_mod

    records = {f"{r['arch']}.{r['tag']}": r for r in json.loads(fam_mod.MANIFEST.read_text())["checkpoints"]}
    assert OWN, "at least one self-supervised encoder ships"
    assert "agcn_loc.snipclr_bandai_w16_e40" in OWN  # the paper's encoder
    for name in OWN:
        probe = records[name]["probe"]
        assert probe["split"] == "val" and probe["ships"], name
        comps = {k: compare_to_random(probe[k]["pretrained"], probe[k]["random"]) for k in ("knn1", "linear")}
        ok, why = beats_random(comps)
        assert ok, (name, why)
        assert min(len(c.pretrained) for c in comps.values()) >= 2 and min(len(c.random) for c in comps.values()) >= 2
        metrics = skelzoo.model_info(name)["metrics"]
        for k in ("knn1", "linear"):
            assert metrics[f"val_probe_{k}_mean"] == pytest.approx(probe[k]["pretrained_mean"])
            assert metrics[f"val_probe_{k}_mean"] > metrics[f"val_probe_{k}_random_mean"]


def _shipped_table() -> dict[str, dict[str, float]]:
    """``{name: {metric: value}}`` from the "Shipped checkpoints" table of docs/results.md."""
    text = RESULTS.read_text(encoding="utf-8")
    section = text.split("## Shipped checkpoints", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    rows = []
    for ln in lines[start:]:  # the section's first table only
        if not ln.startswith("|"):
            break
        rows.append(ln)
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    table = {}
    for ln in rows[2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        name = re.sub(r"[`*]", "", cells[0])
        table[name] = {h: float(c) for h, c in zip(header[2:], cells[2:]) if re.fullmatch(r"-?\d+(\.\d+)?", c)}
    return table


def test_registry_metrics_equal_the_results_document():
    table = _shipped_table()
    shipped = [n for n, w in _bundled() if "docs/results.md" in w.source]
    assert set(shipped) == set(table)
    for name in shipped:
        metrics = skelzoo.model_info(name)["metrics"]
        assert set(metrics) == set(table[name]), name
        for key, value in table[name].items():
            assert metrics[key] == pytest.approx(value, abs=0.005), (name, key)
