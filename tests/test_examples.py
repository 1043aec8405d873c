"""The scripts of ``examples/``: each imports, answers ``--help``, and runs end to end on tiny inputs."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = ("extract_features", "localize_recording", "localize_video_keypoints", "finetune_own_data", "pretrain_own_data")


def _load(name: str) -> ModuleType:
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"skelzoo_example_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses / pickling look modules up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SCRIPTS)
def test_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = _load(name)
    assert module.__doc__ and "Usage" in module.__doc__ and "runtime" in module.__doc__
    with pytest.raises(SystemExit) as exc:
        module.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out and "--" in out


def test_readme_lists_every_script() -> None:
    text = (EXAMPLES / "README.md").read_text()
    for name in SCRIPTS:
        assert f"examples/{name}.py" in text


def test_localize_bundled_example(tmp_path: Path) -> None:
    module = _load("localize_recording")
    out = tmp_path / "loc.json"
    assert module.main(["--out", str(out), "--no-plot"]) == 0
    doc = json.loads(out.read_text())
    assert doc["num_frames"] == 720 and doc["segments"]
    names = {s["name"] for s in doc["segments"]}
    assert names & {"walk", "walk-turn-left", "walk-turn-right"}  # the bundled model finds the walking
    for s in doc["segments"]:
        assert 0 <= s["start"] < s["end"] <= 720 and abs(s["start_s"] - s["start"] / 30.0) < 1e-9


@pytest.mark.parametrize("fmt", ["openpose", "yolo"])
def test_localize_video_keypoints_demo(tmp_path: Path, fmt: str) -> None:
    """The 2-D example: the demo recording written as an estimator's file, read back, localized by the bundled
    2-D default; the wave is found."""
    module = _load("localize_video_keypoints")
    out = tmp_path / "loc2d.json"
    assert module.main(["--demo-format", fmt, "--demo-dir", str(tmp_path / "demo"), "--out", str(out),
                        "--no-plot"]) == 0
    doc = json.loads(out.read_text())
    assert doc["model"] == "stgcn_ssl_ufusion.snipclr_bandai2d" and doc["num_frames"] == 720
    assert "wave-right-hand" in {s["name"] for s in doc["segments"]}


def test_localize_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = _load("localize_recording")
    assert module.main([str(tmp_path / "missing.bvh"), "--out", str(tmp_path / "x.json"), "--no-plot"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_extract_features_random_encoder(tmp_path: Path) -> None:
    import skelzoo

    enc = skelzoo.build_model("stgcn_ssl", num_classes=0)
    skelzoo.save_pretrained(enc, tmp_path / "enc")
    module = _load("extract_features")
    out = tmp_path / "f.npz"
    assert module.main(["--encoder", f"local-dir:{tmp_path / 'enc'}", "--out", str(out), "--stages", "3"]) == 0
    with np.load(out) as z:
        assert z["features"].shape == (720, 256) and z["stage3"].shape == (720, 16)
        assert z["times_s"].shape == (720,) and float(z["fps"]) == 30.0
        assert np.isfinite(z["features"]).all()


def test_extract_features_padded_person_left_out(tmp_path: Path) -> None:
    """A one-person recording through a two-person encoder: features equal those of the person alone."""
    import torch

    import skelzoo

    module = _load("extract_features")
    enc = skelzoo.build_model("stgcn_ssl", num_classes=0).eval()
    x = torch.randn(1, 3, 40, 25, 1)
    padded = torch.cat([x, torch.zeros_like(x)], dim=-1)
    a = module.extract(enc, x, [])["features"]
    b = module.extract(enc, padded, [])["features"]
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_pretrain_then_finetune_tiny(tmp_path: Path) -> None:
    """The demo path of both training scripts on a few short synthetic recordings (~7 s in all)."""
    import torch

    threads = torch.get_num_threads()  # --threads 1 (much faster on a busy CPU) sets it process-wide
    try:
        pre = _load("pretrain_own_data")
        assert pre.main(["--out", str(tmp_path / "pre"), "--demo", "4", "--demo-seconds", "4", "--epochs", "1",
                         "--batch-size", "2", "--clip-frames", "32", "--queue-size", "16", "--device", "cpu",
                         "--threads", "1"]) == 0
        enc = tmp_path / "pre" / "run" / "encoder"
        assert (enc / "config.json").is_file() and (enc / "model.safetensors").is_file()
        ft = _load("finetune_own_data")
        assert ft.main(["--out", str(tmp_path / "ft"), "--demo", "4", "--demo-seconds", "5", "--epochs", "1",
                        "--batch-size", "2", "--max-frames", "64", "--encoder", str(tmp_path / "pre"),
                        "--device", "cpu", "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    metrics = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert metrics["metrics"]["num_sequences"] == 1.0
    assert "accuracy" in metrics["metrics"]
    labels = json.loads((tmp_path / "ft" / "labels.json").read_text())
    assert labels["classes"] and set(labels["sequences"]) == {f"recording_{i:03d}.npz" for i in range(4)}


def test_localize_recording_at_120fps(tmp_path: Path) -> None:
    """A 120 fps recording is resampled to the model's 30 fps; segments come back in its own frames."""
    from test_model_rate import faster

    import skelzoo
    from skelzoo.data.synth import example_sequence
    from skelzoo.io.numpy_io import write_npz
    from skelzoo.localization.pipeline import localize_sequence

    seq30 = example_sequence()[0]
    path = tmp_path / "rec120.npz"
    write_npz(faster(seq30, 4), path)
    module = _load("localize_recording")
    out = tmp_path / "loc.json"
    assert module.main([str(path), "--out", str(out), "--no-plot"]) == 0
    doc = json.loads(out.read_text())
    assert (doc["num_frames"], doc["fps"], doc["model_fps"]) == (2880, 120.0, 30.0)
    ref = localize_sequence(skelzoo.load_model(module.DEFAULT_MODEL), seq30, method="argmax", smoothing=5,
                            min_duration=8).segments
    assert ref and [s["name"] for s in doc["segments"]] == [s.name for s in ref]
    for s, r in zip(doc["segments"], ref):
        assert abs(s["start"] - 4 * r.start) <= 1 and abs(s["end"] - 4 * r.end) <= 1
        assert abs(s["start_s"] - s["start"] / 120.0) < 1e-9
    kept = tmp_path / "kept.json"
    assert module.main([str(path), "--out", str(kept), "--no-plot", "--model-fps", "0"]) == 0
    doc = json.loads(kept.read_text())
    assert (doc["num_frames"], doc["fps"], doc["model_fps"]) == (2880, 120.0, 120.0)


def test_extract_features_at_120fps(tmp_path: Path) -> None:
    """Features of a 120 fps recording: one row per recording frame, each held from the 30 fps model frame."""
    from test_model_rate import faster

    import skelzoo
    from skelzoo.data.synth import example_sequence
    from skelzoo.io import SkeletonSequence
    from skelzoo.io.numpy_io import write_npz

    skelzoo.save_pretrained(skelzoo.build_model("stgcn_ssl", num_classes=0), tmp_path / "enc", model_card=False)
    seq = example_sequence()[0]
    short = SkeletonSequence(seq.data[:100], seq.layout, 30.0)
    write_npz(short, tmp_path / "r30.npz")
    write_npz(faster(short, 4), tmp_path / "r120.npz")
    module = _load("extract_features")
    enc = ["--encoder", f"local-dir:{tmp_path / 'enc'}", "--stages", "3"]
    assert module.main([str(tmp_path / "r30.npz"), "--out", str(tmp_path / "f30.npz"), *enc]) == 0
    assert module.main([str(tmp_path / "r120.npz"), "--out", str(tmp_path / "f120.npz"), *enc]) == 0
    with np.load(tmp_path / "f30.npz") as a, np.load(tmp_path / "f120.npz") as b:
        assert b["features"].shape == (400, 256) and b["stage3"].shape == (400, 16)
        assert b["times_s"].shape == (400,) and float(b["fps"]) == 120.0 and float(b["model_fps"]) == 30.0
        for key in ("features", "stage3"):
            np.testing.assert_allclose(b[key], np.repeat(a[key], 4, axis=0), rtol=1e-4, atol=1e-5)
