"""Prepared-dataset cache, datasets and collate (synthetic data only)."""
from __future__ import annotations

import argparse
import json
import pickle

import numpy as np
import pytest
import torch

from skelzoo.data.collate import collate_untrimmed
from skelzoo.data.datasets import ClipDataset, UntrimmedDataset
from skelzoo.data.prepare import (
    IGNORE_INDEX,
    PreparedDataset,
    SequenceRecord,
    ShardPlan,
    plan_shards,
    prepare_files,
    write_prepared,
)
from skelzoo.data.synth import synthesize

CLASSES = ["walk", "wave-right-hand", "raise-up-both-hands"]
SCRIPTS = [
    [("idle", 0.5), ("walk", 1.0), ("wave-right-hand", 1.0)],
    [("raise-up-both-hands", 1.5), ("idle", 0.4)],
    [("walk", 0.7), ("idle", 0.3), ("raise-up-both-hands", 1.0), ("walk", 0.5)],
    [("wave-right-hand", 0.6)],
    [("idle", 0.2), ("walk", 2.0)],
]


def _records() -> list[SequenceRecord]:
    out = []
    for i, script in enumerate(SCRIPTS):
        seq, names = synthesize(script, seed=i)
        lab = np.array([CLASSES.index(n) if n in CLASSES else len(CLASSES) for n in names])
        out.append(SequenceRecord(f"s{i}", seq.data, lab, {"script": [list(s) for s in script]}))
    return out


def _info(**kw):
    info = {"name": "synthetic", "layout": "ntu25", "fps": 30.0, "class_names": CLASSES,
            "background_index": len(CLASSES), "preprocessing": {"ntu_pre_normalisation": False},
            "source": {"generator": "skelzoo.data.synth"}, "seed": 0, "params": {"v": 1}}
    info.update(kw)
    return info


def _plan(recs, per_shard=2):
    by_id = {r.id: r for r in recs}
    train = [r.id for r in recs[:4]]
    return (plan_shards("train", train, [by_id[i] for i in train], per_shard=per_shard)
            + plan_shards("test", [recs[4].id], [recs[4]], per_shard=per_shard)), by_id


@pytest.fixture()
def prepared(tmp_path):
    recs = _records()
    plan, _ = _plan(recs)
    write_prepared(tmp_path / "prep", plan, lambda s: s.task, info=_info(), progress=False)
    return tmp_path / "prep", recs


def test_prepare_index_and_roundtrip(prepared):
    root, recs = prepared
    idx = json.loads((root / "index.json").read_text())
    assert idx["format"] == "skelzoo-prepared" and idx["format_version"] == 1
    for key in ("layout", "fps", "class_names", "background_index", "label_names", "splits", "source", "seed",
                "params", "preprocessing", "created", "fingerprint", "num_persons", "num_joints", "num_channels"):
        assert key in idx
    assert idx["label_names"] == CLASSES + ["background"]
    assert idx["background_index"] == 3
    assert list(idx["splits"]) == ["train", "test"]
    tr = idx["splits"]["train"]
    assert tr["num_sequences"] == 4 and len(tr["shards"]) == 2
    assert tr["num_frames"] == sum(len(r.data) for r in recs[:4])
    assert [s["id"] for s in tr["sequences"]] == ["s0", "s1", "s2", "s3"]
    assert tr["sequences"][0]["meta"]["script"][0] == ["idle", 0.5]
    assert not (root.parent / "prep.partial").exists()
    ds = PreparedDataset(root)
    ds.verify()
    assert ds.num_classes == 4 and ds.layout == "ntu25"
    for i, r in enumerate(recs[:4]):
        data, lab = ds.get("train", i)
        np.testing.assert_array_equal(data, r.data)
        np.testing.assert_array_equal(lab, r.labels)
        assert lab.dtype == np.int64 and data.dtype == np.float32
    assert isinstance(ds._shard("train", 0)["joints"], np.memmap)  # memory-mapped, not loaded
    eager = PreparedDataset(root, mmap=False)
    np.testing.assert_array_equal(eager.get("test", 0)[0], recs[4].data)
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._shards == {}
    np.testing.assert_array_equal(clone.get("train", 1)[0], recs[1].data)
    with pytest.raises(KeyError, match="no split"):
        ds.ids("val")
    summ = ds.summary()["splits"]["train"]
    assert summ["sequences"] == 4 and sum(summ["frames_per_class"].values()) == summ["frames"]


def test_existing_output_and_overwrite(prepared):
    root, recs = prepared
    plan, _ = _plan(recs)
    calls = []
    write_prepared(root, plan, lambda s: calls.append(s) or s.task, info=_info(), progress=False)
    assert calls == []  # identical preparation: nothing redone
    with pytest.raises(ValueError, match="already exists"):
        write_prepared(root, plan, lambda s: s.task, info=_info(seed=1), progress=False)
    ds = write_prepared(root, plan, lambda s: s.task, info=_info(seed=1), progress=False, overwrite=True)
    assert ds.index["seed"] == 1


def test_resume_after_interruption(tmp_path):
    recs = _records()
    plan, _ = _plan(recs, per_shard=1)  # 5 shards
    out = tmp_path / "prep"
    calls: list[str] = []

    def failing(shard: ShardPlan):
        if len(calls) == 3:
            raise KeyboardInterrupt("simulated crash")
        calls.append(shard.ids[0])
        return shard.task

    with pytest.raises(KeyboardInterrupt):
        write_prepared(out, plan, failing, info=_info(), progress=False)
    staging = tmp_path / "prep.partial"
    assert not out.exists() and staging.exists()
    done = sorted(p.name for p in (staging / "shards").glob("*.npz"))
    assert done == ["train-00000.npz", "train-00001.npz", "train-00002.npz"]
    mtimes = {p: (staging / "shards" / p).stat().st_mtime_ns for p in done}
    # a half-written file of the next shard must be redone, not trusted
    (staging / "shards" / "train-00003.npz").write_bytes(b"PK\x03\x04 truncated")
    calls2: list[str] = []
    ds = write_prepared(out, plan, lambda s: calls2.append(s.ids[0]) or s.task, info=_info(), progress=False)
    assert calls2 == ["s3", "s4"]
    assert not staging.exists()
    for p, m in mtimes.items():
        assert (out / "shards" / p).stat().st_mtime_ns == m
    for i, r in enumerate(recs[:4]):
        np.testing.assert_array_equal(ds.get("train", i)[0], r.data)


def test_resume_with_other_parameters_restarts(tmp_path):
    recs = _records()
    plan, _ = _plan(recs, per_shard=1)
    n = {"k": 0}

    def failing(shard):
        n["k"] += 1
        if n["k"] == 2:
            raise RuntimeError("crash")
        return shard.task

    with pytest.raises(RuntimeError):
        write_prepared(tmp_path / "p", plan, failing, info=_info(), progress=False)
    calls = []
    write_prepared(tmp_path / "p", plan, lambda s: calls.append(1) or s.task, info=_info(seed=9), progress=False)
    assert len(calls) == 5


def test_write_rejects_bad_records(tmp_path):
    recs = _records()
    bad = SequenceRecord("x", recs[0].data, recs[0].labels[:-1])
    with pytest.raises(ValueError, match="labels must be"):
        write_prepared(tmp_path / "b", [ShardPlan("train", ["x"], [bad])], lambda s: s.task, info=_info(),
                       progress=False)
    nan = SequenceRecord("y", np.full((3, 1, 25, 3), np.nan, np.float32))
    with pytest.raises(ValueError, match="NaN"):
        write_prepared(tmp_path / "c", [ShardPlan("train", ["y"], [nan])], lambda s: s.task, info=_info(),
                       progress=False)
    with pytest.raises(ValueError, match="split name"):
        write_prepared(tmp_path / "d", [ShardPlan("../x", ["y"], [recs[0]])], lambda s: s.task, info=_info(),
                       progress=False)
    with pytest.raises(FileNotFoundError, match="index.json"):
        PreparedDataset(tmp_path)


def test_untrimmed_dataset_and_collate(prepared):
    root, recs = prepared
    ds = UntrimmedDataset(root, "train")
    assert len(ds) == 4 and ds.num_classes == 4 and ds.background_index == 3
    x, y = ds[2]
    t = len(recs[2].data)
    assert x.shape == (3, t, 25, 1) and x.dtype == torch.float32
    assert y.shape == (t,) and y.dtype == torch.int64
    np.testing.assert_allclose(x.numpy(), recs[2].data.transpose(3, 0, 2, 1))
    batch = collate_untrimmed([ds[i] for i in range(4)])
    lengths = [len(r.data) for r in recs[:4]]
    tmax = max(lengths)
    assert batch.x.shape == (4, 3, tmax, 25, 1)
    assert batch.labels.shape == (4, tmax) and batch.mask.shape == (4, tmax) and batch.mask.dtype == torch.bool
    assert batch.lengths.tolist() == lengths
    for i, n in enumerate(lengths):
        assert batch.mask[i, :n].all() and not batch.mask[i, n:].any()
        assert (batch.labels[i, n:] == IGNORE_INDEX).all()
        assert (batch.labels[i, :n] >= 0).all()
        assert (batch.x[i, :, n:] == 0).all()
    x8, y8, m8, l8 = collate_untrimmed([ds[0], ds[3]], pad_multiple=8)
    assert x8.shape[2] % 8 == 0 and y8.shape[1] == x8.shape[2]
    loss = torch.nn.functional.cross_entropy(torch.zeros(4, 4, tmax), batch.labels)  # -100 ignored
    assert torch.isfinite(loss)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, collate_fn=collate_untrimmed)
    assert sum(b.x.shape[0] for b in loader) == 4


def test_untrimmed_crop_determinism(prepared):
    root, recs = prepared
    ev = UntrimmedDataset(root, "train", max_len=20)
    assert ev.crop_window(0) == (0, 20)
    x, y = ev[0]
    assert x.shape[1] == 20 and y.shape == (20,)
    np.testing.assert_array_equal(ev.lengths, np.minimum([len(r.data) for r in recs[:4]], 20))
    a = UntrimmedDataset(root, "train", max_len=20, random_crop=True, seed=3)
    b = UntrimmedDataset(root, "train", max_len=20, random_crop=True, seed=3)
    c = UntrimmedDataset(root, "train", max_len=20, random_crop=True, seed=4)
    wins_a = [a.crop_window(i) for i in range(4)]
    assert wins_a == [b.crop_window(i) for i in range(4)]
    assert torch.equal(a[1][0], b[1][0])
    assert wins_a != [c.crop_window(i) for i in range(4)]
    a.set_epoch(1)
    assert [a.crop_window(i) for i in range(4)] != wins_a
    for i in range(4):
        s, e = a.crop_window(i)
        x, y = a[i]
        np.testing.assert_array_equal(y.numpy(), recs[i].labels[s:e])
    padded = UntrimmedDataset(root, "test", num_persons=2)
    assert padded[0][0].shape[-1] == 2 and (padded[0][0][..., 1] == 0).all()


def test_clip_dataset(prepared):
    root, recs = prepared
    ds = ClipDataset(root, "train", clip_len=16, seed=1)
    x = ds[0]
    assert x.shape == (3, 16, 25, 1) and x.dtype == torch.float32
    assert torch.equal(ds[0], ClipDataset(root, "train", clip_len=16, seed=1)[0])
    assert not torch.equal(ds[0], ClipDataset(root, "train", clip_len=16, seed=2)[0])
    uni = ClipDataset(root, "train", clip_len=16, mode="uniform")
    u = uni[1]
    np.testing.assert_allclose(u[:, 0].numpy(), recs[1].data[0].transpose(2, 1, 0), atol=1e-6)
    np.testing.assert_allclose(u[:, -1].numpy(), recs[1].data[-1].transpose(2, 1, 0), atol=1e-6)
    crop = ClipDataset(root, "train", clip_len=500, mode="crop", return_labels=True)
    xc, yc = crop[3]
    n = len(recs[3].data)
    assert xc.shape[1] == 500 and (xc[:, n:] == 0).all() and (yc[n:] == IGNORE_INDEX).all()
    sl = ClipDataset(root, "train", clip_len=30, mode="sliding", stride=15)
    expect = sum(len(range(0, max(len(r.data) - 30, 0) + 1, 15)) + (1 if (len(r.data) - 30) % 15 and len(r.data) > 30 else 0)
                 for r in recs[:4])
    assert len(sl) == expect
    assert all(sl[i].shape == (3, 30, 25, 1) for i in range(len(sl)))
    with pytest.raises(ValueError):
        ClipDataset(root, "train", clip_len=8, mode="nope")  # type: ignore[arg-type]


def _parser():
    from skelzoo.cli import data as data_cli

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    data_cli.register(sub)
    return p


def test_prepare_files_cli(tmp_path, capsys):
    from skelzoo.io import write_npz

    files = []
    for i, script in enumerate(SCRIPTS[:3]):
        seq, _ = synthesize(script, seed=i)
        path = tmp_path / f"rec{i}.npz"
        write_npz(seq, path)
        files.append(path)
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"classes": CLASSES, "sequences": {"rec0.npz": [["walk", 15, 45]],
                                                                     "rec1": [[2, 0, 10]]}}))
    args = _parser().parse_args(["data", "prepare", "files", str(tmp_path / "rec*.npz"), "--out",
                                 str(tmp_path / "out"), "--labels", str(labels), "--no-progress"])
    assert args.func(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["splits"]["all"]["sequences"] == 3 and res["background_index"] == 3
    ds = PreparedDataset(tmp_path / "out")
    _, lab0 = ds.get_by_id("all", "rec0.npz")
    assert (lab0[15:45] == 0).all() and (lab0[:15] == 3).all() and (lab0[45:] == 3).all()
    _, lab1 = ds.get_by_id("all", "rec1.npz")
    assert (lab1[:10] == 2).all()
    data, _ = ds.get("all", 2)
    assert np.abs(data[:, 0, 1]).max() < 1e-5  # NTU pre-normalisation: spine mid at the origin
    # unlabelled
    plain = prepare_files(files[:1], tmp_path / "plain", progress=False, normalise=False)
    d, lab = plain.get("all", 0)
    assert (lab == IGNORE_INDEX).all() and plain.background_index is None
    with pytest.raises(FileNotFoundError):
        args = _parser().parse_args(["data", "prepare", "files", str(tmp_path / "none*.npz"), "--out",
                                     str(tmp_path / "x")])
        args.func(args)


def test_overwrite_refuses_foreign_directory(tmp_path):
    recs = _records()
    plan, _ = _plan(recs)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="refusing"):
        write_prepared(tmp_path / "mine", plan, lambda s: s.task, info=_info(), progress=False, overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").exists()
