"""skelzoo's own trained checkpoints: bundled inside the package (offline), hash-checked, under the wheel's
weight budget, listed with their licence, and carrying exactly the numbers of ``docs/results.md``."""
from __future__ import annotations

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
OWN = ("stgcn_ssl.snipclr_bandai", "stgcn_ssl.skeletonclr_bandai")


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
    # 3-D and 2-D defaults with their encoders, two baselines and the backbone table's encoder + localizer of
    # every family: float16 where the outputs agree (scripts/bundle_float16.py, issue #17). The budget keeps
    # the wheel far below PyPI's 100 MB limit
    assert total < 30_000_000, f"bundled weights {total / 1e6:.2f} MB exceed the 30 MB wheel budget"


@pytest.mark.parametrize("name", OWN)
def test_own_encoders_load_offline_with_their_metadata(name, monkeypatch):
    monkeypatch.setenv("SKELZOO_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    info = skelzoo.model_info(name)
    pre = "ntu_bodysize" if name == "stgcn_ssl.snipclr_bandai" else "ntu"  # second recipe: body size normalised
    assert info["license"] == "CC-BY-NC-4.0" and info["preprocess"] == pre and info["fps"] == 30.0
    assert info["location"].startswith("bundled:") and len(info["sha256"]) == 64
    assert info["metrics"], "measured metrics from docs/results.md"
    model = skelzoo.load_model(name, pretrained=True)
    assert model.preprocess == pre and model.skelzoo_config["tag"] == name.split(".")[1]
    with torch.no_grad():
        feats = model.forward_features(torch.zeros(1, 3, 32, 25, 1))
    assert torch.isfinite(feats).all()


def test_cli_lists_own_checkpoints():
    out = subprocess.run([sys.executable, "-c", "from skelzoo.cli.main import main; main()", "list", "--pretrained"], capture_output=True, text=True,
                         check=True).stdout
    for name in OWN:
        assert name in out


def _shipped_table() -> dict[str, dict[str, float]]:
    """``{name: {metric: value}}`` from the "Shipped checkpoints" table of docs/results.md."""
    text = RESULTS.read_text(encoding="utf-8")
    section = text.split("## Shipped checkpoints", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in section.splitlines() if ln.startswith("|")]
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
    assert set(OWN) <= set(shipped) and set(shipped) == set(table)
    for name in shipped:
        metrics = skelzoo.model_info(name)["metrics"]
        assert set(metrics) == set(table[name]), name
        for key, value in table[name].items():
            assert metrics[key] == pytest.approx(value, abs=0.005), (name, key)
