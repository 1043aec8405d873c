"""Preprocessing transforms (synthetic data)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from _io_fixtures import random_ntu

from skelzoo.data import transforms as tf
from skelzoo.io.sequence import SkeletonSequence


def _person(t: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(t, 25, 3)) + 2.0


def test_pre_normalise_centres_and_aligns() -> None:
    data = np.zeros((10, 2, 25, 3), np.float32)
    data[:, 0] = _person()
    data[:7, 1] = _person(7, seed=1)
    data[0, 1, 3] = 0.0  # an exactly-zero joint stays zero
    out = tf.ntu_pre_normalise(data)
    np.testing.assert_allclose(out[:, 0, 1], 0, atol=1e-5)  # joint 1 of person 0 in every frame
    spine = out[0, 0, 1] - out[0, 0, 0]
    sh = out[0, 0, 8] - out[0, 0, 4]
    np.testing.assert_allclose(sh / np.linalg.norm(sh), [1, 0, 0], atol=1e-5)  # rotation 2 exact
    assert spine[2] / np.linalg.norm(spine) > 0.5  # spine near +z (rotation 2 may tilt it)
    assert (out[0, 1, 3] == 0).all()
    # person 1 vanished after frame 7: its frames 0..6 repeat cyclically
    np.testing.assert_allclose(out[7:, 1] != 0, out[:3, 1] != 0)
    rel = out[:, 1] - out[:, 0, 1:2]
    assert np.isfinite(rel).all()


def test_pre_normalise_null_frames_and_sequence() -> None:
    data = np.zeros((6, 1, 25, 3), np.float32)
    data[2:5, 0] = _person(3)
    out = tf.ntu_pre_normalise(data)
    assert (out[:, 0] != 0).any(axis=(1, 2)).all()  # moved to the front and repeated cyclically
    np.testing.assert_allclose(out[3:6], out[0:3], atol=1e-6)
    assert tf.ntu_pre_normalise(np.zeros((3, 1, 25, 3))).sum() == 0  # no skeleton: unchanged
    seq = random_ntu(t=5, m=2)
    seq.data[:2, 1] = 0
    res = tf.pre_normalize(seq)
    assert isinstance(res, SkeletonSequence) and res.meta["tracking_state"].shape == (5, 2, 25)
    np.testing.assert_array_equal(res.meta["tracking_state"][:3, 1], seq.meta["tracking_state"][2:, 1])


def test_rotation_between() -> None:
    for v in ([1, 2, 3], [0, 0, -1], [0, 0, 1]):
        r = tf.rotation_between(np.array(v, float), np.array([0, 0, 1.0]))
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-9)
        np.testing.assert_allclose(r @ v / np.linalg.norm(v), [0, 0, 1], atol=1e-9)
    assert (tf.rotation_between(np.zeros(3), np.ones(3)) == np.eye(3)).all()


def test_resample() -> None:
    assert tf.resample_indices(231, 120, 30).tolist() == list(range(0, 231, 4))
    idx = tf.resample_indices(250, 100, 30)
    assert len(idx) == 75 and idx[:4].tolist() == [0, 3, 6, 10] and idx[30] == 100
    data = np.arange(10, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 25, 3), np.float32) + 1
    assert tf.resample(data, 15, source_fps=30).shape[0] == 5
    up = tf.resample(data, 60, source_fps=30, method="linear")
    assert up.shape[0] == 20 and up[1, 0, 0, 0] == pytest.approx(1.5)
    seq = tf.resample(random_ntu(t=8), 10)
    assert seq.fps == 10 and seq.num_frames == 3 and seq.meta["orientation"].shape[0] == 3
    with pytest.raises(ValueError):
        tf.resample(data, 15)


def test_select_persons_and_windows() -> None:
    data = np.zeros((5, 3, 25, 3), np.float32)
    data[:, 0] = 1.0  # static
    data[:, 2] = np.random.default_rng(0).normal(size=(5, 25, 3))
    out = tf.select_persons(data, 4)
    assert out.shape == (5, 4, 25, 3) and (out[:, 0] == data[:, 2]).all() and not out[:, 3].any()
    assert (tf.select_persons(data, 1, criterion="order") == data[:, :1]).all()
    seq = tf.select_persons(random_ntu(t=3, m=2), 3)
    assert seq.num_persons == 3 and seq.meta["body_ids"][2] is None and seq.meta["depth_xy"].shape[1] == 3
    w = tf.sliding_windows(100, 32, overlap=8)
    assert w.tolist() == [[0, 32], [24, 56], [48, 80], [68, 100]]
    assert tf.sliding_windows(10, 32).tolist() == [[0, 10]] and tf.sliding_windows(0, 5).shape == (0, 2)
    crops = tf.crop_windows(data, np.array([[0, 3], [3, 5]]), size=4)
    assert crops.shape == (2, 4, 3, 25, 3) and not crops[0, 3].any() and not crops[1, 2:].any()
    np.testing.assert_array_equal(crops[1, :2], data[3:5])
    with pytest.raises(ValueError):
        tf.sliding_windows(10, 4, overlap=4)


def test_fill_missing() -> None:
    data = np.arange(5, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 25, 3), np.float32)
    data[1:3, 0, 21] = np.nan
    data[:, 0, 24] = np.nan
    interp = tf.fill_missing(data)
    np.testing.assert_allclose(interp[:, 0, 21, 0], [0, 1, 2, 3, 4])
    assert (interp[:, 0, 24] == 0).all()
    assert tf.fill_missing(data, method="hold")[1:3, 0, 21, 0].tolist() == [0, 0]
    assert tf.fill_missing(data, method="zero")[1:3, 0, 21, 0].tolist() == [0, 0]
    seq = SkeletonSequence(data, "ntu25", meta={"missing": np.isnan(data).any(-1)})
    filled = tf.fill_missing(seq)
    assert "missing" not in filled.meta and np.isfinite(filled.data).all()


def test_first_frame_centring_is_pyskl_prenormalize3d_without_frame_dropping():
    from skelzoo.data.transforms import ntu_pre_normalise

    rng = np.random.default_rng(3)
    data = rng.normal(size=(6, 2, 25, 3)).astype(np.float32)
    data[:, :, :, :] += np.linspace(0, 1, 6)[:, None, None, None]  # the body drifts
    out = ntu_pre_normalise(data, pad_null_frames=False, center="first_frame")
    assert out.shape == data.shape
    np.testing.assert_allclose(out[0, 0, 1], 0.0, atol=1e-6)           # frame-0 spine at the origin
    assert np.abs(out[5, 0, 1]).max() > 0.5                              # later frames keep their drift
    shoulders = out[0, 0, 8] - out[0, 0, 4]  # the last rotation puts the frame-0 shoulder line on +x
    np.testing.assert_allclose(shoulders / np.linalg.norm(shoulders), [1, 0, 0], atol=1e-5)
    # per-frame centring differs only by a translation per frame (the same rotations)
    per = ntu_pre_normalise(data, pad_null_frames=False)
    d = out - per
    np.testing.assert_allclose(d, np.broadcast_to(d[:, :1, 1:2], d.shape), atol=1e-5)
    with pytest.raises(ValueError, match="center"):
        ntu_pre_normalise(data, center="mean")


def test_every_registered_preprocess_code_is_applied_by_prepare_input():
    import skelzoo
    from skelzoo.dataset_info import PREPROCESS_DESCRIPTIONS
    from skelzoo.io import SkeletonSequence
    from skelzoo.localization.pipeline import prepare_input
    from skelzoo.models import WeightCfg

    seq = SkeletonSequence(np.random.default_rng(0).normal(size=(20, 1, 25, 3)).astype(np.float32), "ntu25", 30.0)
    model = skelzoo.build_model("stgcn_ssl", num_classes=0)
    for code in PREPROCESS_DESCRIPTIONS:
        if code in ("coco2d", "pyskl_2d"):  # 2-D keypoints (x, y + score) into a coco17 model
            seq2d = SkeletonSequence(np.random.default_rng(0).uniform(0, 500, size=(20, 1, 17, 2)).astype(np.float32),
                                     "coco17", 30.0, confidence=np.full((20, 1, 17), 0.9, np.float32))
            model2d = skelzoo.build_model("stgcn_ssl", num_classes=0, layout="coco17")
            model2d.preprocess = code
            x = prepare_input(seq2d, model2d)
            assert x.shape == (1, 3, 20, 17, model2d.num_person) and torch.isfinite(x).all(), code
            continue
        model.preprocess = code
        x = prepare_input(seq, model)
        assert x.shape == (1, 3, 20, 25, model.num_person) and torch.isfinite(x).all(), code
    with pytest.raises(ValueError, match="unknown preprocess code"):
        WeightCfg(tag="x", file="x.safetensors", preprocess="free text about the input")
