"""The one path from a recording to segments (issue #15): weights carry their input spec, ``skelzoo.prepare``
applies it, ``Localizer.localize`` / ``frame_features`` take recordings, and the Python API and ``skelzoo
localize`` give identical segments. Raw tensors that do not look like the training input warn."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import skelzoo
from skelzoo.errors import InputWarning
from skelzoo.io import SkeletonSequence

DEFAULT = "stgcnpp_ufusion.snipclr_bandai_w16"  # skelzoo.models.DEFAULT_LOCALIZER


@pytest.fixture(scope="module")
def loc(default_localizer: torch.nn.Module) -> torch.nn.Module:
    return default_localizer


@pytest.fixture(scope="module")
def example(example_seq: SkeletonSequence) -> SkeletonSequence:
    return example_seq


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    from skelzoo.cli.main import main

    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _dicts(segments) -> list[dict]:
    return [s.to_dict() for s in segments]


# --------------------------------------------------------------------------------------- input spec
def test_weights_carry_their_input_spec(loc, tmp_path: Path) -> None:
    spec = loc.input_spec
    assert isinstance(spec, skelzoo.InputSpec)
    # STGCN++'s graph is pyskl's: the NTU-25 joints in the same order, hands attached the pyskl way
    assert (spec.layout, spec.in_channels, spec.num_joints, spec.num_person, spec.fps, spec.preprocess) == \
        ("ntu25_pyskl", 3, 25, 1, 30.0, "ntu_bodysize")
    cfg = loc.pretrained_cfg
    assert cfg["name"] == DEFAULT and cfg["input_spec"] == spec.to_dict() and cfg["class_names"][0] == "walk"
    for name in skelzoo.list_models(pretrained=True):  # every registered weight states what it expects
        info = skelzoo.model_info(name)
        assert info["fps"] and info["layout"] and info["num_person"], name
    skelzoo.save_pretrained(loc, tmp_path / "m", model_card=False)
    cfg_json = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg_json["input_spec"] == spec.to_dict()
    assert skelzoo.load_model(f"local-dir:{tmp_path / 'm'}").input_spec == spec
    enc = skelzoo.load_model("agcn_loc.snipclr_bandai_w16_e40")
    assert enc.input_spec.preprocess == "ntu_bodysize" and enc.pretrained_cfg["tag"] == "snipclr_bandai_w16_e40"


def test_prepare_applies_the_weights_preprocessing(loc, example) -> None:
    from skelzoo.localization.pipeline import prepare_input, to_model_rate

    x, rate = skelzoo.prepare(example, loc)
    assert x.shape == (1, 3, 720, 25, 1) and not rate.resampled
    torch.testing.assert_close(x, prepare_input(example, loc))
    assert float(x[0, :, :, 1, 0].abs().max()) < 1e-5  # spine at the origin: NTU pre-normalisation applied
    fast = example.replace(fps=120.0)
    p = skelzoo.prepare(fast, loc)
    assert p.x.shape[2] == 180 and p.rate.resampled and p.rate.model_fps == 30.0 and p.sequence is fast
    torch.testing.assert_close(p.x, prepare_input(to_model_rate(fast, 30.0)[0], loc))


# --------------------------------------------------------------------------------------- one path
def test_localize_a_sequence_is_the_cli_path(loc, example, tmp_path: Path, capsys) -> None:
    """README path: read_skeleton -> loc.localize(seq). Equal to `skelzoo localize FILE`; not the raw tensor's
    single confident segment (the bug of the issue)."""
    from skelzoo.io import write_npz

    path = tmp_path / "example.npz"
    write_npz(example, path)
    seq = skelzoo.read_skeleton(path)
    api = loc.localize(seq)[0]
    assert api == loc.localize(str(path))[0] == loc.localize(path)[0] == loc.localize([seq])[0]
    assert len(api) >= 4 and {s.name for s in api} >= {"walk", "raise-up-both-hands"}
    with pytest.warns(InputWarning, match="pre-normalised"):
        raw = loc.localize(seq.to_tensor(), fps=30)[0]  # skipping the preprocessing: wrong, and warned
    assert _dicts(raw) != _dicts(api) and len(raw) == 1
    rc, out, err = _cli(["localize", str(path), "--json"], capsys)
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["results"][0]["segments"] == _dicts(api)
    r = doc["results"][0]
    assert (r["format"], r["layout"], r["fps"], r["model_fps"]) == ("numpy", "ntu25", 30.0, 30.0)
    assert doc["decoder"] == "argmax" and doc["decoder_params"] == {"smoothing": 5, "min_duration": 8}
    assert doc["input_spec"] == loc.input_spec.to_dict() and doc["model"] == DEFAULT
    # the prepared tensor gives the same segments, silently
    x, _ = skelzoo.prepare(seq, loc)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        assert loc.localize(x)[0] == api


def test_frame_features_of_a_recording(loc, example) -> None:
    fast = example.replace(fps=60.0)
    f = loc.frame_features(fast)
    assert f.shape == (1, 720, loc.num_features)
    x, rate = skelzoo.prepare(fast, loc)
    with torch.no_grad():
        ref = rate.features_to_recording(loc.frame_features(x)[0].numpy())
    np.testing.assert_allclose(f[0].numpy(), ref, rtol=1e-5, atol=1e-6)
    enc = skelzoo.load_model("agcn_loc.snipclr_bandai_w16_e40")
    feats = skelzoo.extract_features(enc, example)
    assert feats.shape == (720, enc.num_features)


# --------------------------------------------------------------------------------------- warnings
def _warned(fn) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught if issubclass(w.category, InputWarning)]


def test_tensors_unlike_the_training_input_warn(loc, example) -> None:
    x, _ = skelzoo.prepare(example, loc)
    assert _warned(lambda: loc.localize(x)) == []
    assert _warned(lambda: loc.frame_features(x)) == []
    msgs = _warned(lambda: loc.localize(example.to_tensor()))
    assert len(msgs) == 1 and "skelzoo.prepare(seq, model)" in msgs[0] and "pre-normalised" in msgs[0]
    assert any("all zeros" in m for m in _warned(lambda: loc.localize(torch.zeros(1, 3, 64, 25, 1))))
    const = x[:, :, :1].repeat(1, 1, 64, 1, 1)
    assert any("never changes" in m for m in _warned(lambda: loc.localize(const)))
    assert any("training range" in m for m in _warned(lambda: loc.localize(x * 100)))  # centimetres
    assert any("fps=120" in m for m in _warned(lambda: loc.localize(x, fps=120.0)))
    assert _warned(lambda: loc.localize(x, check=False)) == []
    fresh = skelzoo.load_model(DEFAULT).train()  # (train mode updates BatchNorm statistics: not the shared one)
    assert _warned(lambda: fresh.frame_features(example.to_tensor())) == []  # training batches are not checked


def test_implausible_recordings_warn(loc, example, tmp_path: Path, capsys) -> None:
    from skelzoo.io import write_npz

    zero = SkeletonSequence(np.zeros((64, 1, 25, 3), np.float32), "ntu25", 30.0)
    assert any("no skeleton" in m for m in _warned(lambda: loc.localize(zero)))
    cm = example.replace(data=example.data * 100)
    assert any("implausible scale" in m for m in _warned(lambda: loc.localize(cm)))
    still = example.replace(data=np.repeat(example.data[:1], 64, axis=0))
    assert any("never moves" in m for m in _warned(lambda: loc.localize(still)))
    assert _warned(lambda: loc.localize(example)) == []
    write_npz(zero, tmp_path / "zero.npz")
    rc, out, err = _cli(["localize", str(tmp_path / "zero.npz"), "--json"], capsys)
    assert rc == 0 and "warning:" in err and "no skeleton" in err
    assert "no skeleton" in json.loads(out)["results"][0]["warnings"][0]


# --------------------------------------------------------------------------------------- CLI
def test_cli_batch_continues_past_a_bad_file(example, tmp_path: Path, capsys) -> None:
    from skelzoo.io import write_npz

    good_a, good_b = tmp_path / "walk_a.npz", tmp_path / "walk_b.npz"
    write_npz(example.replace(data=example.data[:200]), good_a)
    write_npz(example.replace(data=example.data[200:400]), good_b)
    bad = tmp_path / "broken.skeleton"
    bad.write_text("3\n1\nnot a number\n")
    plot = tmp_path / "t.png"
    argv = ["localize", str(good_a), str(bad), str(tmp_path / "missing.bvh"), str(good_b), "--json",
            "--out", str(tmp_path / "r.json")]
    try:
        import matplotlib  # noqa: F401
        argv += ["--plot", str(plot)]
    except ImportError:
        plot = None
    rc, out, err = _cli(argv, capsys)
    assert rc == 2
    doc = json.loads(out)
    assert [r["input"] for r in doc["results"]] == [str(good_a), str(good_b)]
    assert [f["input"] for f in doc["failed"]] == [str(bad), str(tmp_path / "missing.bvh")]
    assert "broken.skeleton" in err and "2 of 4 input(s) failed" in err
    if plot is not None:
        assert doc["plot"] == [str(tmp_path / "t_walk_a.png"), str(tmp_path / "t_walk_b.png")]
        assert all(Path(p).is_file() for p in doc["plot"])


def test_cli_example_table_ground_truth_and_evaluate(tmp_path: Path, capsys) -> None:
    gt = tmp_path / "gt.json"
    res = tmp_path / "res.json"
    rc, out, err = _cli(["localize", "--example", "--table", "--write-gt", str(gt), "--out", str(res)], capsys)
    assert rc == 0, err
    assert "file" in out and "class" in out and "start-end (s)" in out and "score" in out
    assert "ground truth of example" in out and "segment mAP" in out
    doc = json.loads(res.read_text())
    r = doc["results"][0]
    assert [g["name"] for g in r["ground_truth"]] == ["walk", "wave-right-hand", "raise-up-both-hands", "walk"]
    assert 0.0 <= r["mAP"]["average_mAP"] <= 100.0
    rc, out, err = _cli(["evaluate", str(res), str(gt), "--json"], capsys)
    assert rc == 0, err
    ev = json.loads(out)
    assert set(ev["per_class"]) == {"walk", "wave-right-hand", "raise-up-both-hands"}
    assert ev["average_mAP"]["value"] == pytest.approx(r["mAP"]["average_mAP"])
    rc, out, _ = _cli(["localize", "--example", "--json"], capsys)
    assert json.loads(out)["results"][0]["segments"] == r["segments"]
    rc, _, err = _cli(["localize", str(tmp_path / "x.npz"), "--write-gt", str(gt)], capsys)
    assert rc == 2 and "--example" in err


def test_cli_model_dir_and_verbose(loc, tmp_path: Path, capsys, caplog) -> None:
    skelzoo.save_pretrained(loc, tmp_path / "mymodel", model_card=False)
    with caplog.at_level("INFO", logger="skelzoo"):
        rc, out, err = _cli(["localize", "--example", "--json", "--model", str(tmp_path / "mymodel"), "-v"], capsys)
    assert rc == 0, err
    ref = loc.localize(__import__("skelzoo.data.synth", fromlist=["x"]).example_sequence()[0])[0]
    assert json.loads(out)["results"][0]["segments"] == _dicts(ref)
    assert "preprocessing 'ntu_bodysize' applied" in caplog.text and "segment(s)" in caplog.text
    rc, _, err = _cli(["localize", "--example", "--model", str(tmp_path / "nope"), "--json"], capsys)
    assert rc == 2 and "no such folder" in err


def test_cli_list_pretrained_is_a_table(capsys) -> None:
    rc, out, _ = _cli(["list", "--pretrained"], capsys)
    lines = out.splitlines()
    assert rc == 0 and lines[0].startswith("name") and "weights" in lines[0] and set(lines[1]) <= {"-", " "}
    row = next(line for line in lines if line.startswith(DEFAULT))
    assert "bundled" in row and "30" in row
