"""The bundled default localizer and the README's main job (offline, no ../shared needed)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

import skelzoo
from skelzoo.errors import ChecksumError
from skelzoo.models import _builder as api


def test_default_weights_registered_and_bundled():
    from skelzoo.models import DEFAULT_LOCALIZER

    names = skelzoo.list_models(pretrained=True)
    assert DEFAULT_LOCALIZER == "stgcnpp_ufusion.snipclr_bandai_w16"
    for name in (DEFAULT_LOCALIZER, "stgcn_ssl_ufusion.snipclr_bandai", "agcn_loc_ufusion.bandai_w32"):
        assert name in names
        info = skelzoo.model_info(name)
        assert info["task"] == "localization" and info["license"] == "CC-BY-NC-4.0"
        assert info["num_classes"] == 10 and len(info["class_names"]) == 10
        assert info["sha256"] and info["location"].startswith("bundled:")
        assert info["default_tag"] == name.split(".")[1]


def test_load_offline_fast_and_deterministic(monkeypatch):
    monkeypatch.setenv("SKELZOO_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = skelzoo.load_model("stgcn_ssl_ufusion", pretrained=True)
    assert model.skelzoo_config["tag"] == "snipclr_bandai" and model.preprocess == "ntu_bodysize"
    assert model.class_names[0] == "walk"
    x = torch.zeros(1, 3, 64, 25, 1)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (1, 64, 11)


def test_corrupted_bundled_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "assets"
    shutil.copytree(api.ASSETS, bad)
    f = bad / "stgcn_ssl_ufusion.snipclr_bandai.safetensors"
    data = bytearray(f.read_bytes())
    data[-1] ^= 0xFF
    f.write_bytes(bytes(data))
    monkeypatch.setattr(api, "ASSETS", bad)
    with pytest.raises(ChecksumError, match="sha256"):
        skelzoo.load_model("stgcn_ssl_ufusion.snipclr_bandai")


@pytest.mark.parametrize("name", ["stgcnpp_ufusion.snipclr_bandai_w16", "stgcn_ssl_ufusion.snipclr_bandai",
                                  "agcn_loc_ufusion.bandai_w32"])
def test_localize_example_recovers_the_script(name):
    """The bundled localizers find the example's two walking stretches where they are and call them ``walk``
    (the default and the previous default: at least 60 % of each walk's frames); the default and the oldest
    model also find the right-hand wave. The previous default calls the synthetic (procedural) wave a left-hand
    wave or nothing: see docs/results.md."""
    from skelzoo.data.synth import example_sequence
    from skelzoo.localization.pipeline import localize_sequence

    model = skelzoo.load_model(name)
    seq, labels = example_sequence()
    res = localize_sequence(model, seq, name="example", method="argmax", smoothing=5, min_duration=8)
    found = {(s.name, round(s.start_s), round(s.end_s)) for s in res.segments}
    walks = [s for s in res.segments if s.name == "walk"]
    assert len(walks) == 2, found
    assert abs(walks[0].start_s - 2.0) < 1.0 and abs(walks[0].end_s - 7.0) < 1.0
    assert abs(walks[1].start_s - 19.0) < 1.0
    lab = np.array(labels)
    pred = np.array(["-"] * len(lab), dtype=object)
    for s in res.segments:
        pred[s.start:s.end] = s.name
    walk_frames = np.flatnonzero(lab == "walk")
    first, second = walk_frames[walk_frames < 400], walk_frames[walk_frames >= 400]
    if name != "agcn_loc_ufusion.bandai_w32":
        for part in (first, second):
            assert (pred[part] == "walk").mean() >= 0.6, found
    if name != "stgcn_ssl_ufusion.snipclr_bandai":
        waves = [s for s in res.segments if s.name == "wave-right-hand"]
        assert waves and abs(waves[0].start_s - 8.5) < 1.0 and abs(waves[-1].end_s - 12.0) < 1.5, found


def test_cli_localize_example(tmp_path):
    out, plot = tmp_path / "result.json", tmp_path / "timeline.png"
    r = subprocess.run([sys.executable, "-m", "skelzoo.cli.main", "localize", "--example", "--out", str(out),
                        "--plot", str(plot)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc == json.loads(out.read_text()) | {"plot": [str(plot)]}
    segs = doc["results"][0]["segments"]
    assert segs and {"label", "name", "start", "end", "score", "start_s", "end_s"} <= set(segs[0])
    assert plot.stat().st_size > 10_000


def test_cli_localize_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "skelzoo.cli.main", "localize", str(tmp_path / "nope.skeleton")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "nope.skeleton" in r.stderr
    r = subprocess.run([sys.executable, "-m", "skelzoo.cli.main", "localize", "--example", "--model", "ctrgcn"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "localization" in r.stderr
