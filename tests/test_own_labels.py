"""Finetuning on one's own labels (issue #15, item 8): label files are validated line by line (overlaps, end
before start, out-of-range, NaN, unknown classes are errors naming the file and line, never silently
overwritten); the finetuning example has a true linear probe, warns about freezing a random encoder, caches
prepared data between runs; evaluation reports foreground-frame accuracy and per-class recall."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from skelzoo.errors import FormatError
from skelzoo.io.segment_labels import (
    check_against_recording,
    read_label_blocks,
    read_segment_labels,
    segments_to_frame_labels,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(f"skelzoo_example_{name}_labels", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_segment_label_file_reads_frames_and_seconds(tmp_path: Path) -> None:
    f = tmp_path / "rec.segments.txt"
    f.write_text("# class first last\nwalk 12 40\nwave: 41, 60  # hands\n\n")
    segs = read_segment_labels(f)
    assert [(s.name, s.start, s.end, s.unit, s.line) for s in segs] == [
        ("walk", 12, 40, "frames", 2), ("wave", 41, 60, "frames", 3)]
    ids = np.array([0, 12, 13, 40, 41, 41, 60, 61])
    lab = segments_to_frame_labels(segs, ["walk", "wave"], num_frames=8, frame_ids=ids)
    np.testing.assert_array_equal(lab, [2, 0, 0, 0, 1, 1, 1, 2])
    g = tmp_path / "sec.txt"
    g.write_text("walk 0.5s 1.25s\n")
    (s,) = read_segment_labels(g)
    assert (s.start, s.end, s.unit) == (0.5, 1.25, "seconds")


@pytest.mark.parametrize("text,line,match", [
    ("walk 12 40\nwave 30 60\n", 2, r"wave 30-60 overlaps walk 12-40 of line 1"),
    ("walk 12 40\nwave 60 41\n", 2, r"end 41 is before start 60"),
    ("walk 12 40\nwave NaN 60\n", 2, r"start is NaN"),
    ("walk 12 40\nwave 41 6o\n", 2, r"'6o' is not a number"),
    ("walk 12 40 7\n", 1, r"expected 'class start end'"),
    ("walk 1.5 4\n", 1, r"not a whole frame id"),
    ("walk 1s 40\n", 1, r"both be frame ids or both seconds"),
])
def test_bad_label_lines_are_refused_with_the_line(tmp_path: Path, text: str, line: int, match: str) -> None:
    f = tmp_path / "bad.segments.txt"
    f.write_text(text)
    with pytest.raises(FormatError, match=rf"bad.segments.txt, line {line}: .*{match}"):
        read_segment_labels(f)


def test_utkinect_style_blocks_with_a_typo_are_refused(tmp_path: Path) -> None:
    """UTKinect-Action3D's actionLabel.txt: blocks of 'name: start end'; its known typo 'push: 2556 3622'
    (for 3556) overlaps the segment before it."""
    f = tmp_path / "actionLabel.txt"
    good = "s01_e01\nwalk: 252 390\nsitDown: 572 686\n"
    f.write_text(good + "s01_e02\nwalk: 1000 1100\npickUp: 2100 2300\npull: 2400 2500\npush: 2556 3622\n"
                 "waveHands: 3600 3700\n")
    with pytest.raises(FormatError, match=r"actionLabel.txt, line 9: waveHands 3600-3700 overlaps push 2556-3622"):
        read_label_blocks(f)
    f.write_text(good)
    blocks = read_label_blocks(f, classes=["walk", "sitDown"])
    assert list(blocks) == ["s01_e01"] and [s.name for s in blocks["s01_e01"]] == ["walk", "sitDown"]
    with pytest.raises(FormatError, match=r"line 3: unknown class 'sitDown'; did you mean sitdown"):
        read_label_blocks(f, classes=["walk", "sitdown"])
    with pytest.raises(FormatError, match=r"line 3: sitDown 572-686 is outside the recording's frames 250-600"):
        check_against_recording(blocks["s01_e01"], path=f, frame_ids=np.arange(250, 601))


def test_prepared_labels_are_never_silently_overwritten() -> None:
    from skelzoo.data.prepare import _frame_labels

    classes = ["walk", "wave"]
    np.testing.assert_array_equal(_frame_labels([["walk", 0, 3], ["wave", 3, 5]], 6, classes, "x.json: a"),
                                  [0, 0, 0, 1, 1, 2])
    for segs, match in ([[["walk", 0, 4], ["wave", 3, 5]], "overlaps segment 0"],
                        [[["walk", 4, 2]], "end 2 is not after start 4"],
                        [[["walk", 0, float("nan")]], "NaN"],
                        [[["walk", 2, 40]], "outside the sequence"],
                        [[["run", 0, 2]], "unknown class 'run'"]):
        with pytest.raises(ValueError, match=match):
            _frame_labels(segs, 6, classes, "x.json: a")


def test_frame_recall_beside_accuracy() -> None:
    from skelzoo.training.finetune import frame_recall

    gts = [np.array([2, 2, 2, 2, 2, 2, 0, 0, 1, 1])]  # background (2) dominates
    preds = [np.array([2, 2, 2, 2, 2, 2, 2, 2, 2, 2])]  # never finds an action: 60 % "accuracy"
    r = frame_recall(preds, gts, 2)
    assert r == {"accuracy_foreground": 0.0, "accuracy_background": 100.0, "recall_0": 0.0, "recall_1": 0.0}


def test_example_linear_probe_random_encoder_and_cache(tmp_path: Path, capsys) -> None:
    ft = _example("finetune_own_data")
    assert ft.localizer_args(None, None, "linear-probe")[0] == "stgcn_ssl_simple"
    assert ft.localizer_args(None, None, "linear")[0] == "stgcn_ssl_ufusion"
    assert "freezes a RANDOM encoder" in capsys.readouterr().err
    arch, margs = ft.localizer_args("agcn_loc.snipclr_bandai_w16_e40", None, "linear-probe")
    assert arch == "agcn_loc_simple" and margs == {"backbone_args": {"base_channels": 16}}
    with pytest.raises(ValueError, match="linear-probe"):
        ft.localizer_args(None, "stgcn_ssl_ufusion", "linear-probe")
    args = ft.parse_args(["--out", str(tmp_path / "ft"), "--demo", "4", "--demo-seconds", "4",
                          "--protocol", "linear-probe"])
    cfg_root, _, _ = ft.prepare(args)
    first = capsys.readouterr().out
    assert "reusing" not in first
    again = ft.prepare(args)[0]
    assert again == cfg_root and "reusing" in capsys.readouterr().out
    cfg = ft.build_config(args, cfg_root, "train", "test", "stgcn_ssl_simple", {}, None, 3)
    assert cfg.protocol == "linear"
    from skelzoo.training.finetune import build_finetune_model
    model = build_finetune_model(cfg, num_classes=4, class_names=None)
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"head"} and model.neck is None  # frozen encoder, one linear frame classifier
    # a segment label file next to a recording is used (and checked) instead of the per-frame file
    rec = sorted((tmp_path / "ft" / "demo_recordings").glob("*.npz"))[0]
    rec.with_name(rec.stem + ".segments.txt").write_text("walk 10 40\nrun 30 50\n")
    with pytest.raises(FormatError, match=r"segments.txt, line 2: run 30-50 overlaps walk 10-40"):
        ft.frame_labels_to_spec([rec], fps=30.0, fmt=None, background={"background"})
    rec.with_name(rec.stem + ".segments.txt").write_text("walk 10 40\nrun 41 50\n")
    spec = ft.frame_labels_to_spec([rec], fps=30.0, fmt=None, background={"background"})
    assert spec == {"classes": ["run", "walk"], "sequences": {rec.name: [["walk", 10, 41], ["run", 41, 51]]}}
