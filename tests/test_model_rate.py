"""Recordings at another frame rate are resampled to the model's rate by the data path of ``skelzoo
localize`` / ``skelzoo extract`` (:mod:`skelzoo.localization.pipeline`), and the results come back in the
recording's frames and seconds."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import skelzoo
from skelzoo.io import SkeletonSequence

DEFAULT = "stgcn_ssl_ufusion.snipclr_bandai"
ARGMAX = {"method": "argmax", "smoothing": 5, "min_duration": 8}


def faster(seq: SkeletonSequence, factor: int) -> SkeletonSequence:
    """The same motion recorded at ``factor`` times the frame rate (linear interpolation between frames;
    every ``factor``-th frame is an original one)."""
    t = seq.num_frames
    pos = np.arange(t * factor) / factor
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo)[:, None, None, None]
    data = ((1 - w) * seq.data[lo] + w * seq.data[hi]).astype(np.float32)
    return SkeletonSequence(data, seq.layout, seq.fps * factor, {})


@pytest.fixture(scope="module")
def model(default_localizer: torch.nn.Module) -> torch.nn.Module:
    return default_localizer


@pytest.fixture(scope="module")
def seq30(example_seq: SkeletonSequence) -> SkeletonSequence:
    return example_seq


@pytest.fixture(scope="module")
def seq120(seq30: SkeletonSequence) -> SkeletonSequence:
    return faster(seq30, 4)


def _same_segments(at120, at30, factor: int = 4, num_frames: int = 2880) -> None:
    assert at30, "the bundled model should find segments in the example"
    assert [s.name for s in at120] == [s.name for s in at30]
    for a, b in zip(at120, at30):
        assert abs(a.start - factor * b.start) <= 1 and abs(a.end - min(num_frames, factor * b.end)) <= 1
        assert a.score == pytest.approx(b.score, abs=1e-5)
        assert a.start_s == pytest.approx(a.start / (30.0 * factor)) and a.end_s == pytest.approx(a.end / (30.0 * factor))
        assert abs(a.start_s - b.start_s) <= 1 / 30 and abs(a.end_s - b.end_s) <= 1 / 30


def test_expected_fps(model: torch.nn.Module, tmp_path: Path) -> None:
    from skelzoo.localization.pipeline import expected_fps
    from skelzoo.models import model_fps

    assert model_fps(DEFAULT) == 30.0 and expected_fps(model) == 30.0
    small = skelzoo.build_model("stgcn_ssl", num_classes=0)
    assert expected_fps(small) == 30.0  # nothing recorded: skelzoo's training data rate
    small.skelzoo_config["fps"] = 60
    assert expected_fps(small) == 60.0
    skelzoo.save_pretrained(skelzoo.build_model("stgcn_ssl", num_classes=0), tmp_path / "enc", model_card=False)
    assert expected_fps(skelzoo.load_model(f"local-dir:{tmp_path / 'enc'}")) == 30.0


def test_to_model_rate_maps_back() -> None:
    from skelzoo.localization.pipeline import to_model_rate
    from skelzoo.localization.segments import make_segment

    seq = SkeletonSequence(np.random.default_rng(0).normal(size=(10, 1, 25, 3)).astype(np.float32), "ntu25", 120.0)
    same, rate = to_model_rate(seq, None)
    assert same is seq and not rate.resampled and rate.model_fps == 120.0
    same, rate = to_model_rate(seq, 120.0)
    assert same is seq and not rate.resampled
    small, rate = to_model_rate(seq, 30.0)
    assert rate.resampled and small.num_frames == 3 and small.fps == 30.0
    np.testing.assert_array_equal(small.data, seq.data[[0, 4, 8]])
    feats = np.arange(3)[:, None] * np.ones((1, 2))
    np.testing.assert_array_equal(rate.features_to_recording(feats)[:, 0], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])
    segs = rate.segments_to_recording([make_segment(1, 1, 3, 0.5, fps=30.0)])
    assert (segs[0].start, segs[0].end) == (4, 10)  # clipped to the recording
    assert segs[0].start_s == pytest.approx(4 / 120) and segs[0].end_s == pytest.approx(10 / 120)
    # a slower recording is upsampled; every segment keeps at least one recording frame
    slow = SkeletonSequence(seq.data, "ntu25", 15.0)
    big, rate = to_model_rate(slow, 30.0)
    assert big.num_frames == 20 and rate.features_to_recording(np.zeros((20, 4))).shape == (10, 4)
    for s in rate.segments_to_recording([make_segment(0, 0, 1, 1.0, fps=30.0), make_segment(0, 19, 20, 1.0, fps=30.0)]):
        assert 0 <= s.start < s.end <= 10


def test_localize_120fps_like_30fps(model, seq30, seq120) -> None:
    from skelzoo.localization.pipeline import localize_sequence

    r30 = localize_sequence(model, seq30, **ARGMAX)
    r120 = localize_sequence(model, seq120, **ARGMAX)
    assert (r30.num_frames, r30.fps, r30.model_fps) == (720, 30.0, 30.0)
    assert (r120.num_frames, r120.fps, r120.model_fps) == (2880, 120.0, 30.0)
    _same_segments(r120.segments, r30.segments)
    d = r120.to_dict()
    assert d["fps"] == 120.0 and d["model_fps"] == 30.0 and d["num_frames"] == 2880 and d["duration_s"] == 24.0


def test_localize_opt_out_keeps_the_recording_rate(model, seq120) -> None:
    from skelzoo.localization.pipeline import localize_sequence, prepare_input

    with torch.inference_mode():
        old = model.localize(prepare_input(seq120, model), fps=120.0, check=False, **ARGMAX)[0]
    for opt_out in (None, 0):
        res = localize_sequence(model, seq120, model_fps=opt_out, **ARGMAX)
        assert res.model_fps == 120.0 and res.segments == list(old)


def test_cli_localize_resamples_by_default(model, seq30, seq120, tmp_path, capsys) -> None:
    from skelzoo.cli.main import main
    from skelzoo.io.numpy_io import write_npz
    from skelzoo.localization.pipeline import localize_sequence, prepare_input

    path = tmp_path / "rec120.npz"
    write_npz(seq120, path)
    out = tmp_path / "r.json"
    assert main(["localize", str(path), "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads(out.read_text())
    res = doc["results"][0]
    assert res["fps"] == 120.0 and res["model_fps"] == 30.0 and res["num_frames"] == 2880
    expected = localize_sequence(model, seq30, **ARGMAX).segments
    from skelzoo.localization.segments import Segment
    _same_segments([Segment(**s) for s in res["segments"]], expected)

    assert main(["localize", str(path), "--model-fps", "0"]) == 0
    res = json.loads(capsys.readouterr().out)["results"][0]
    assert res["fps"] == 120.0 and res["model_fps"] == 120.0 and res["num_frames"] == 2880
    with torch.inference_mode():
        old = model.localize(prepare_input(seq120, model), fps=120.0, check=False, **ARGMAX)[0]
    assert res["segments"] == [s.to_dict() for s in old]

    assert main(["localize", str(path), "--model-fps", "-1"]) == 2
    assert "--model-fps" in capsys.readouterr().err


def test_extract_features_in_recording_frames(seq30) -> None:
    from skelzoo.localization.pipeline import extract_features

    enc = skelzoo.build_model("stgcn_ssl", num_classes=0).eval()
    short = SkeletonSequence(seq30.data[:100], seq30.layout, 30.0)
    f30 = extract_features(enc, short)
    f120 = extract_features(enc, faster(short, 4))
    assert f30.shape[0] == 100 and f120.shape == (400, f30.shape[1])
    np.testing.assert_allclose(f120, np.repeat(f30, 4, axis=0), rtol=1e-4, atol=1e-5)
    kept = extract_features(enc, faster(short, 4), model_fps=0)
    assert kept.shape == f120.shape and not np.allclose(kept, f120, rtol=1e-4, atol=1e-5)


def test_cli_extract_resamples_by_default(model, seq30, seq120, tmp_path, capsys) -> None:
    from skelzoo.cli.main import main
    from skelzoo.io.numpy_io import write_npz
    from skelzoo.localization.pipeline import extract_features

    path = tmp_path / "rec120.npz"
    write_npz(seq120, path)
    out = tmp_path / "f.npz"
    assert main(["extract", str(path), "--out", str(out)]) == 0
    row = json.loads(capsys.readouterr().out)["features"][0]
    assert row["fps"] == 120.0 and row["model_fps"] == 30.0 and row["shape"][0] == 2880
    with np.load(out) as z:
        feats = z[row["key"]]
    f30 = extract_features(model, seq30)
    np.testing.assert_allclose(feats, np.repeat(f30, 4, axis=0), rtol=1e-4, atol=1e-4)

    assert main(["extract", str(path), "--out", str(out), "--model-fps", "0"]) == 0
    row = json.loads(capsys.readouterr().out)["features"][0]
    assert row["model_fps"] == 120.0 and row["shape"][0] == 2880


def test_training_rate_travels_with_the_weights(tmp_path: Path) -> None:
    """A checkpoint's training frame rate survives ``save_pretrained`` -> ``local-dir:`` (``config.json``
    ``fps``), so a folder-loaded model resamples recordings like the registered one; no rate -> 30 fps."""
    from skelzoo.localization.pipeline import expected_fps

    m = skelzoo.load_model("stgcn_ssl")
    m.skelzoo_config["fps"] = 120.0
    skelzoo.save_pretrained(m, tmp_path / "m120", model_card=False)
    assert json.loads((tmp_path / "m120" / "config.json").read_text())["fps"] == 120.0
    back = skelzoo.load_model(f"local-dir:{tmp_path / 'm120'}")
    assert back.skelzoo_config["fps"] == 120.0
    assert expected_fps(back, f"local-dir:{tmp_path / 'm120'}") == 120.0
    skelzoo.save_pretrained(skelzoo.load_model("stgcn_ssl"), tmp_path / "m", model_card=False)
    assert expected_fps(skelzoo.load_model(f"local-dir:{tmp_path / 'm'}"), "local-dir:x") == 30.0
