"""Bandai untrimmed benchmark: composition geometry, planning, and end-to-end preparation.

Synthetic tests build a tiny fake Bandai archive (Bandai rig BVH written here, not real data); the
real-data tests use ``../shared/data`` through the ``data_dir`` fixture and skip without it.
"""
from __future__ import annotations

import argparse
import io
import json
import tarfile

import numpy as np
import pytest

from skelzoo.data import bandai
from skelzoo.data.bandai import (
    CONTENT_CLASSES,
    STYLES,
    TEST_STYLES,
    ComposeConfig,
    align_to,
    compose_sequence,
    heading,
    plan_split,
    prepare_bandai_clips,
    prepare_bandai_untrimmed,
)
from skelzoo.data.datasets import UntrimmedDataset
from skelzoo.data.prepare import PreparedDataset
from skelzoo.data.synth import synthesize


def _yaw(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _world_clip(action, seconds, seed, yaw, shift):
    seq, _ = synthesize([(action, seconds)], seed=seed, noise=0.0)
    d = seq.data[:, 0].astype(np.float64)
    return (d @ _yaw(yaw).T + np.array(shift)).astype(np.float32)


# ----------------------------------------------------------------------------- geometry
def test_heading_and_align():
    clip = _world_clip("walk", 1.0, 0, 0.0, (0, 0, 0))
    assert abs(heading(clip[0])) < 0.1  # synth actors face +z
    rot = _world_clip("walk", 1.0, 0, 1.0, (3.0, 0.0, -2.0))
    assert abs(heading(rot[0]) - 1.0) < 0.1
    target = _world_clip("wave-right-hand", 1.0, 1, -2.0, (-1.0, 0.0, 4.0))[-1]
    al = align_to(rot, target)
    assert abs(np.angle(np.exp(1j * (heading(al[0]) - heading(target))))) < 1e-5
    np.testing.assert_allclose(al[0, 0, [0, 2]], target[0, [0, 2]], atol=1e-5)
    assert abs(al[0, 0, 1] - rot[0, 0, 1]) < 1e-6  # height kept
    # rigid: bone lengths unchanged
    np.testing.assert_allclose(np.linalg.norm(al[:, 13] - al[:, 12], axis=-1),
                               np.linalg.norm(rot[:, 13] - rot[:, 12], axis=-1), atol=1e-5)


def test_compose_junctions_and_labels():
    rng = np.random.default_rng(0)
    acts = ["walk", "wave-right-hand", "run", "raise-up-both-hands", "walk"]
    items = []
    for i, a in enumerate(acts):
        clip = _world_clip(a, 1.5, i, rng.uniform(-3, 3), (rng.uniform(-5, 5), 0, rng.uniform(-5, 5)))
        items.append(("clip", i, f"c{i}", clip))
        if i == 1:
            items.append(("idle", 9, None, 30))
        if i == 2:
            items.append(("other", 9, "o", _world_clip("walk", 1.0, 9, 2.0, (9, 0, 9))))
    data, labels, segs = compose_sequence(items, blend=8, rng=np.random.default_rng(1))
    n_clip = sum(len(it[3]) for it in items if it[0] != "idle")
    junctions_blended = sum(1 for it in items[1:] if it[0] != "idle")
    assert len(data) == len(labels) == n_clip + 30 - 8 * junctions_blended
    # segments tile the sequence and match the labels
    assert segs[0][1] == 0 and segs[-1][2] == len(data)
    for a, b in zip(segs, segs[1:]):
        assert a[2] == b[1]
    for lab, s, e, _, _ in segs:
        assert (labels[s:e] == lab).all()
    assert [s[0] for s in segs] == [0, 1, 9, 2, 9, 3, 4]
    # no jump at the junctions: per-frame root displacement stays small (walking ~4-10 cm/frame max)
    step = np.linalg.norm(np.diff(data[:, 0], axis=0), axis=-1)
    assert step.max() < 0.15, step.max()
    for _, s, _, _, _ in segs[1:]:
        assert step[s - 9:s + 9].max() < 0.12
    # heading continuous at each junction (no sudden turn)
    h = np.unwrap([heading(f) for f in data])
    assert np.abs(np.diff(h)).max() < 0.35


def test_blend_label_rule():
    a = _world_clip("walk", 1.0, 0, 0.0, (0, 0, 0))
    b = _world_clip("wave-right-hand", 1.0, 1, 0.0, (0, 0, 0))
    _, labels, segs = compose_sequence([("clip", 0, "a", a), ("clip", 1, "b", b)], blend=8)
    # weights smoothstep(j/9), j=1..8: >= 0.5 from j = 5 on -> the last 4 blend frames get the next label
    anchor = len(a) - 8
    assert segs[1][1] == anchor + 4
    assert (labels[:anchor + 4] == 0).all() and (labels[anchor + 4:] == 1).all()


def _fake_fg(num_styles=3, per=12):
    rng = np.random.default_rng(0)
    return {f"st{s}": [(f"s{s}_c{i}", i % 10, int(rng.integers(40, 300))) for i in range(per)]
            for s in range(num_styles)}


def test_plan_split_deterministic_and_valid():
    fg = _fake_fg()
    bg = [("bg0", 200), ("bg1", 90)]
    cfg = ComposeConfig()
    p1 = plan_split(fg, bg, None, cfg, np.random.default_rng(5), background_index=10)
    p2 = plan_split(fg, bg, None, cfg, np.random.default_rng(5), background_index=10)
    assert p1 == p2
    p3 = plan_split(fg, bg, None, cfg, np.random.default_rng(6), background_index=10)
    assert p1 != p3
    used = {it[2] for p in p1 for it in p["items"] if it[0] == "clip"}
    assert used == {c[0] for v in fg.values() for c in v}  # every clip used
    styles = {c[0]: s for s, v in fg.items() for c in v}
    for p in p1:
        clips = [it for it in p["items"] if it[0] == "clip"]
        assert 1 <= len(clips) <= cfg.max_clips
        assert all(styles[it[2]] == p["style"] for it in clips)  # one style per sequence
        labs = [it[1] for it in clips]
        assert all(x != y for x, y in zip(labs, labs[1:]))  # consecutive actions differ
        assert all(it[4] - it[3] <= cfg.max_clip_frames for it in clips)
        assert p["planned_frames"] <= cfg.max_frames
    fixed = plan_split(fg, bg, 7, cfg, np.random.default_rng(5), background_index=10)
    assert len(fixed) == 7


# ----------------------------------------------------------------------------- fake archives
_CH = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"


def _rig():
    """Bandai rig (name, parent, offset cm) in the depth-first order of the dataset's files."""
    j = [("joint_Root", None, (0, 0, 0)), ("Hips", "joint_Root", (0, 92, 0)), ("Spine", "Hips", (0, 10, 0)),
         ("Chest", "Spine", (0, 15, 0)), ("Neck", "Chest", (0, 22, 0)), ("Head", "Neck", (0, 10, 0))]
    for s, x in (("L", 1), ("R", -1)):
        j += [(f"Shoulder_{s}", "Chest", (x * 4, 18, 0)), (f"UpperArm_{s}", f"Shoulder_{s}", (x * 13, 0, 0)),
              (f"LowerArm_{s}", f"UpperArm_{s}", (0, -28, 0)), (f"Hand_{s}", f"LowerArm_{s}", (0, -25, 0))]
    for s, x in (("L", 1), ("R", -1)):
        j += [(f"UpperLeg_{s}", "Hips", (x * 9, -5, 0)), (f"LowerLeg_{s}", f"UpperLeg_{s}", (0, -42, 0)),
              (f"Foot_{s}", f"LowerLeg_{s}", (0, -40, 0)), (f"Toes_{s}", f"Foot_{s}", (0, -5, 12))]
    return j


_ENDS = {"Head": (0, 15, 0), "Hand_L": (0, -8, 0), "Hand_R": (0, -8, 0), "Toes_L": (0, 0, 6), "Toes_R": (0, 0, 6)}


def _bvh_text(content: str, n: int, rng: np.random.Generator) -> str:
    rig = _rig()
    children = {}
    for name, parent, _ in rig:
        children.setdefault(parent, []).append(name)
    offs = {name: off for name, _, off in rig}
    lines = ["HIERARCHY"]

    def emit(name, depth, root=False):
        ind = "  " * depth
        lines.append(f"{ind}{'ROOT' if root else 'JOINT'} {name}")
        lines.append(f"{ind}{{")
        lines.append(f"{ind}  OFFSET {offs[name][0]:.4f} {offs[name][1]:.4f} {offs[name][2]:.4f}")
        lines.append(f"{ind}  {_CH}")
        for c in children.get(name, []):
            emit(c, depth + 1)
        if name in _ENDS:
            e = _ENDS[name]
            lines.extend([f"{ind}  End Site", f"{ind}  {{", f"{ind}    OFFSET {e[0]} {e[1]} {e[2]}", f"{ind}  }}"])
        lines.append(f"{ind}}}")

    emit("joint_Root", 0, root=True)
    lines += ["MOTION", f"Frames: {n}", "Frame Time: 0.0333333"]
    t = np.arange(n)
    yaw0 = rng.uniform(-180, 180)
    pos0 = rng.uniform(-200, 200, 3) * np.array([1, 0, 1])
    speed = {"walk": 1.3, "run": 3.0, "walk-turn-left": 1.2, "walk-turn-right": 1.2}.get(content, 0.0)
    turn = {"walk-turn-left": 90.0, "walk-turn-right": -90.0}.get(content, 0.0)
    yaw = yaw0 + turn * np.clip((t - n * 0.3) / (n * 0.4), 0, 1)
    fwd = np.stack([np.sin(np.radians(yaw)), np.zeros(n), np.cos(np.radians(yaw))], axis=1)
    hips = pos0 + np.array([0, 92, 0]) + np.cumsum(fwd * speed, axis=0)
    swing = 25 * np.sin(2 * np.pi * t / 30) if speed else np.zeros(n)
    lift = np.clip(np.minimum(t, n - 1 - t) / 10, 0, 1)
    for f in range(n):
        vals = []
        for name, parent, off in rig:
            p = hips[f] if name == "Hips" else off
            zr = xr = yr = 0.0
            if name == "Hips":
                yr = yaw[f]
            elif name == "UpperLeg_L":
                xr = swing[f]
            elif name == "UpperLeg_R":
                xr = -swing[f]
            elif name.startswith("UpperArm_"):
                side = name[-1]
                both = content.endswith("both-hands")
                mine = both or content.endswith(("left-hand" if side == "L" else "right-hand"))
                if mine and content.startswith("raise"):
                    zr = (150 if side == "L" else -150) * lift[f]
                elif mine and content.startswith("wave"):
                    zr = (100 if side == "L" else -100) * lift[f] + 20 * np.sin(f / 3) * lift[f]
            vals += [p[0], p[1], p[2], zr, xr, yr]
        lines.append(" ".join(f"{v:.4f}" for v in vals))
    return "\n".join(lines) + "\n"


def _add(tf: tarfile.TarFile, name: str, text: str) -> None:
    blob = text.encode()
    info = tarfile.TarInfo(name)
    info.size = len(blob)
    tf.addfile(info, io.BytesIO(blob))


def _fake_archives(root, per_group=1, frames=(40, 70)):
    rng = np.random.default_rng(42)
    root.mkdir(parents=True, exist_ok=True)
    top = bandai.FOLDER_NAMES[2]
    with tarfile.open(root / bandai.ARCHIVE_NAMES[2], "w:xz") as tf:
        _add(tf, f"{top}/LICENSE", "CC BY-NC 4.0 (fake)")
        for ci, c in enumerate(CONTENT_CLASSES):
            for si, s in enumerate(STYLES):
                for k in range(per_group):
                    stem = f"dataset-2_{c}_{s}_{k + 1:03d}"
                    _add(tf, f"{top}/data/{stem}.bvh", _bvh_text(c, int(rng.integers(*frames)), rng))
                    _add(tf, f"{top}/data/{stem}.json", json.dumps({"content": ci, "style": si}))
        _add(tf, f"{top}/cfg/content_label.txt", "\n".join(f"dataset-2_{c}" for c in CONTENT_CLASSES))
        _add(tf, f"{top}/cfg/style_label.txt", "\n".join(f"dataset-2_{s}" for s in STYLES))
    top1 = bandai.FOLDER_NAMES[1]
    c1, s1 = ["walk", "bow", "guide"], ["normal", "old", "happy"]
    with tarfile.open(root / bandai.ARCHIVE_NAMES[1], "w:xz") as tf:
        _add(tf, f"{top1}/cfg/content_label.txt", "\n".join(f"dataset-1_{c}" for c in c1))
        _add(tf, f"{top1}/cfg/style_label.txt", "\n".join(f"dataset-1_{s}" for s in s1))
        for ci, c in enumerate(c1):
            for si, s in enumerate(s1):
                stem = f"dataset-1_{c}_{s}_001"
                _add(tf, f"{top1}/data/{stem}.bvh", _bvh_text(c, 60, rng))
                _add(tf, f"{top1}/data/{stem}.json", json.dumps({"content": ci, "style": si}))
    return root


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory):
    return _fake_archives(tmp_path_factory.mktemp("bandai") / "data", per_group=2)


def _check_benchmark(ds: PreparedDataset, test_styles=TEST_STYLES, max_frames=1000):
    assert ds.class_names == list(CONTENT_CLASSES) and ds.background_index == 10
    assert set(ds.splits) == {"train", "test"}
    styles = {}
    for split in ds.splits:
        styles[split] = {ds.meta(split, i)["style"] for i in range(ds.num_sequences(split))}
        seen = set()
        for i in range(ds.num_sequences(split)):
            data, lab = ds.get(split, i)
            assert data.shape[1:] == (1, 25, 3) and len(data) <= max_frames
            assert lab.min() >= 0 and lab.max() <= 10
            seen |= set(np.unique(lab).tolist())
            segs = ds.meta(split, i)["segments"]
            assert segs[0][1] == 0 and segs[-1][2] == len(lab)
        assert set(range(10)) <= seen, (split, seen)
    assert styles["test"] <= set(test_styles) and not (styles["train"] & set(test_styles))
    return styles


def test_prepare_fake_end_to_end(fake_data, tmp_path):
    out = tmp_path / "bench"
    res = prepare_bandai_untrimmed(fake_data, out, seed=3, workers=1, progress=False)
    assert res["status"] == "written"
    ds = PreparedDataset(out)
    ds.verify()
    _check_benchmark(ds)
    idx = ds.index
    assert idx["preprocessing"]["ntu_pre_normalisation"] is True
    assert idx["source"]["test_styles"] == sorted(TEST_STYLES) and idx["source"]["ds1_used"] is True
    assert idx["seed"] == 3 and idx["params"]["compose"]["blend"] == 8
    # every foreground clip used once in train/test: 2 clips x 10 contents x 5 or 2 styles
    used = {s[3] for sp in ds.splits for i in range(ds.num_sequences(sp)) for s in ds.meta(sp, i)["segments"]
            if s[4] == "clip"}
    assert len(used) == 2 * 10 * 7
    # normalised: spine mid at the origin in every frame
    data, _ = ds.get("train", 0)
    assert np.abs(data[:, 0, 1]).max() < 1e-5
    # the parse cache lives inside the output and is reused
    assert (out / "parsed" / "index.json").exists()
    again = prepare_bandai_untrimmed(fake_data, out, seed=3, workers=1, progress=False)
    assert again["status"] == "exists"
    # deterministic from the seed, different for another seed
    out2 = tmp_path / "bench2"
    prepare_bandai_untrimmed(fake_data, out2, seed=3, workers=2, progress=False, cache_dir=out / "parsed")
    d2 = PreparedDataset(out2)
    for split in ds.splits:
        assert [s["sha256"] for s in ds.index["splits"][split]["shards"]] == \
               [s["sha256"] for s in d2.index["splits"][split]["shards"]]
    out3 = tmp_path / "bench3"
    prepare_bandai_untrimmed(fake_data, out3, seed=4, workers=1, progress=False, cache_dir=out / "parsed",
                             num_train=3, num_test=2)
    d3 = PreparedDataset(out3)
    assert d3.num_sequences("train") == 3 and d3.num_sequences("test") == 2
    assert d3.get("train", 0)[1].tolist() != ds.get("train", 0)[1].tolist()
    # the dataset reads it
    x, y = UntrimmedDataset(out, "test")[0]
    assert x.shape[0] == 3 and x.shape[2:] == (25, 1) and y.shape == (x.shape[1],)


def test_prepare_fake_raw_junctions(fake_data, tmp_path):
    """Without normalisation the composed world coordinates show no jumps at the junctions."""
    out = tmp_path / "raw"
    prepare_bandai_untrimmed(fake_data, out, seed=0, workers=1, progress=False, normalise=False,
                             num_train=4, num_test=1)
    ds = PreparedDataset(out)
    for i in range(ds.num_sequences("train")):
        data, lab = ds.get("train", i)
        root = data[:, 0, 0]
        step = np.linalg.norm(np.diff(root, axis=0), axis=-1)
        assert step.max() < 0.06, step.max()  # fake walk 1.3 cm/frame, run 3 cm/frame
        h = np.unwrap([heading(f) for f in data[:, 0]])
        assert np.abs(np.diff(h)).max() < 0.3


def test_prepare_clips_and_cli(fake_data, tmp_path, capsys):
    from skelzoo.cli import data as data_cli

    res = prepare_bandai_clips(fake_data, tmp_path / "clips", workers=1, progress=False)
    ds = PreparedDataset(tmp_path / "clips")
    assert ds.num_sequences("train") + ds.num_sequences("test") == 140 + 9
    assert ds.index["labels"] == "clip" and ds.background_index is None
    assert ds.class_names[:10] == list(CONTENT_CLASSES) and "bow" in ds.class_names
    for i in range(ds.num_sequences("test")):
        m = ds.meta("test", i)
        assert m["style"] in (TEST_STYLES if m["dataset"] == 2 else bandai.DS1_TEST_STYLES)
    assert res["splits"]["train"]["sequences"] == ds.num_sequences("train")
    p = argparse.ArgumentParser()
    data_cli.register(p.add_subparsers(dest="command"))
    args = p.parse_args(["data", "prepare", "bandai-untrimmed", "--data", str(fake_data), "--out",
                         str(tmp_path / "cli"), "--num-train", "2", "--num-test", "2", "--workers", "1",
                         "--no-progress", "--cache", str(tmp_path / "clips" / "parsed")])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["splits"]["train"]["sequences"] == 2 and out["splits"]["test"]["sequences"] == 2
    with pytest.raises(FileNotFoundError, match="bandai-namco-motion-2"):
        args = p.parse_args(["data", "prepare", "bandai-untrimmed", "--data", str(tmp_path), "--out",
                             str(tmp_path / "none"), "--no-progress"])
        args.func(args)


# ----------------------------------------------------------------------------- real data
@pytest.mark.data
def test_real_bandai_small_benchmark(data_dir, tmp_path):
    if bandai.find_bandai_source(data_dir, 2) is None:
        pytest.skip("Bandai dataset 2 not in ../shared/data")
    out = tmp_path / "real"
    prepare_bandai_untrimmed(data_dir, out, seed=0, clips_per_group=1, workers=2, progress=False)
    ds = PreparedDataset(out)
    styles = _check_benchmark(ds)
    assert styles["train"] == set(STYLES) - set(TEST_STYLES)
    # plausible bone lengths (metres): the composition and normalisation are rigid per frame
    bones = {"upper arm": (4, 5), "forearm": (5, 6), "thigh": (12, 13), "shin": (13, 14), "spine": (0, 1)}
    data = np.concatenate([ds.get("train", i)[0] for i in range(ds.num_sequences("train"))])[:, 0]
    for name, (a, b) in bones.items():
        length = np.linalg.norm(data[:, b] - data[:, a], axis=-1)
        assert 0.08 < np.median(length) < 0.6, (name, np.median(length))
        assert length.std() < 0.02, (name, length.std())  # rigid bones, blends barely change them


def test_validation_styles_split(fake_data, tmp_path):
    """``val_styles`` moves a training style to a third split; the test split is unchanged."""
    base = tmp_path / "base"
    prepare_bandai_untrimmed(fake_data, base, seed=0, workers=1, progress=False)
    out = tmp_path / "val"
    prepare_bandai_untrimmed(fake_data, out, seed=0, workers=1, progress=False, cache_dir=base / "parsed",
                             val_styles="default")
    a, b = PreparedDataset(base), PreparedDataset(out)
    assert set(b.splits) == {"train", "test", "val"}
    assert [s["sha256"] for s in a.index["splits"]["test"]["shards"]] == \
           [s["sha256"] for s in b.index["splits"]["test"]["shards"]]
    styles = {sp: {b.meta(sp, i)["style"] for i in range(b.num_sequences(sp))} for sp in b.splits}
    assert styles["val"] == set(bandai.DEFAULT_VAL_STYLES)
    assert not (styles["train"] & styles["val"]) and not (styles["train"] & set(TEST_STYLES))
    clips = tmp_path / "clips"
    prepare_bandai_clips(fake_data, clips, workers=1, progress=False, cache_dir=base / "parsed",
                         val_styles=["exhausted"])
    c = PreparedDataset(clips)
    assert {c.meta("val", i)["style"] for i in range(c.num_sequences("val"))} == {"exhausted"}
    assert all(c.meta("train", i)["style"] != "exhausted" or c.meta("train", i)["dataset"] == 1
               for i in range(c.num_sequences("train")))
    for bad in (["elderly"], ["nope"], ["active", "exhausted", "feminine", "masculine", "normal"]):
        with pytest.raises(ValueError, match="validation styles"):
            prepare_bandai_untrimmed(fake_data, tmp_path / "bad", val_styles=bad, workers=1, progress=False)
