"""The 'coco2d' 2-D normalisation, the virtual-camera projection and 2-D input to the model path."""
from __future__ import annotations

import numpy as np
import pytest

from skelzoo.data import project2d as p2
from skelzoo.data.norm2d import CONF_THRESHOLD, TARGET_TORSO, normalise_2d, with_scores
from skelzoo.io import SkeletonSequence

BASE = np.array([(320, 100), (328, 92), (312, 92), (338, 98), (302, 98), (350, 150), (290, 150), (360, 210),
                 (280, 210), (365, 265), (275, 265), (340, 270), (300, 270), (342, 350), (298, 350), (344, 430),
                 (296, 430)], dtype=np.float64)


def _seq(t: int = 40, seed: int = 0) -> np.ndarray:
    """(T, 2, 17, 3) pixels + scores: two persons moving, with noise."""
    rng = np.random.default_rng(seed)
    xy = np.stack([BASE + [3 * f + 5 * np.sin(f / 4), 2 * np.cos(f / 5)] for f in range(t)])   # (T, 17, 2)
    xy = xy + rng.normal(0, 1.5, xy.shape)
    p2nd = xy + [180, 20]
    data = np.stack([xy, p2nd], axis=1)
    score = rng.uniform(0.5, 1.0, data.shape[:3])
    return np.concatenate([data, score[..., None]], axis=-1).astype(np.float32)


def test_torso_and_centre() -> None:
    out = normalise_2d(_seq())
    sh = (out[:, 0, 5, :2] + out[:, 0, 6, :2]) / 2
    hip = (out[:, 0, 11, :2] + out[:, 0, 12, :2]) / 2
    np.testing.assert_allclose(hip, 0, atol=1e-5)                      # hip midpoint at the origin
    assert abs(np.median(np.linalg.norm(sh - hip, axis=-1)) - TARGET_TORSO) < 1e-4
    assert (sh[:, 1] > 0).all()                                          # y points up
    np.testing.assert_array_equal(out[..., 2], _seq()[..., 2])          # scores kept


def test_invariant_to_translation_and_image_scale() -> None:
    d = _seq()
    ref = normalise_2d(d)
    moved = d.copy()
    moved[..., :2] = moved[..., :2] * 2.5 + np.array([400.0, -37.0], np.float32)
    np.testing.assert_allclose(normalise_2d(moved), ref, atol=1e-4)
    # normalised coordinates (x / width, y / height with width = height) give the same result too
    np.testing.assert_allclose(normalise_2d(np.concatenate([d[..., :2] / 640, d[..., 2:]], -1)), ref, atol=1e-4)


def test_missing_points_do_not_move_the_others() -> None:
    d = _seq()
    ref = normalise_2d(d)
    holed = d.copy()
    rng = np.random.default_rng(3)
    drop = rng.random(d.shape[:3]) < 0.15
    drop[:, :, [5, 6, 11, 12]] = False        # keep the torso: the centre and scale stay measurable
    drop[:3, 0, 11] = True                    # ... except a few frames without the left hip (centre falls back)
    holed[drop] = [123.0, 456.0, 0.1]         # below the threshold: garbage coordinates must not matter
    out = normalise_2d(holed)
    assert not out[drop].any()                                           # missing points are exactly 0
    keep = ~drop
    keep[:3] = False                                                     # frames whose centre fell back
    # the scale is a median over frames: one torso fewer in 3 of 40 frames moves it by less than 1 %
    np.testing.assert_allclose(out[keep], ref[keep], rtol=0.02, atol=0.02)
    full = ~drop[3:]
    out2 = normalise_2d(np.where(drop[..., None], holed, d))
    np.testing.assert_allclose(out2[3:][full], ref[3:][full], atol=0.02)


def test_threshold_and_empty() -> None:
    d = _seq()
    d[..., 2] = CONF_THRESHOLD / 2
    assert not normalise_2d(d).any()
    with pytest.raises(ValueError, match="coco17"):
        normalise_2d(np.zeros((2, 1, 25, 3)))


def test_with_scores() -> None:
    xy = np.zeros((2, 1, 17, 2), np.float32)
    xy[0, 0, 0] = [1, 2]
    xy[1, 0, 1] = np.nan
    out = with_scores(xy, None)
    assert out.shape == (2, 1, 17, 3) and out[0, 0, 0, 2] == 1 and out[1, 0, 1].tolist() == [0, 0, 0]


# ----------------------------------------------------------------------------- projection
def _walker(t: int = 90) -> np.ndarray:
    j = np.zeros((t, 25, 3))
    j[:, 0] = [0, 0.9, 0]
    j[:, 1] = [0, 1.1, 0]
    j[:, 20] = [0, 1.4, 0]
    j[:, 2] = [0, 1.5, 0]
    j[:, 3] = [0, 1.57, 0]
    for idx, sx in (((4, 5, 6, 7, 12, 13, 14, 15), 1), ((8, 9, 10, 11, 16, 17, 18, 19), -1)):
        for k, pos in zip(idx, ([.18, 1.4, 0], [.22, 1.15, 0], [.24, .9, 0], [.24, .85, 0], [.1, .9, 0],
                                [.1, .5, 0], [.1, .08, 0], [.1, 0, .1])):
            j[:, k] = [pos[0] * sx, pos[1], pos[2]]
    j[:, 21:23] = j[:, 7:8]
    j[:, 23:25] = j[:, 11:12]
    j[:, :, 2] += 0.03 * np.arange(t)[:, None]
    return j


def test_projection_deterministic_and_plausible() -> None:
    j = _walker()
    a, ia = p2.project_sequence(j, np.random.default_rng([5, 1, 0, 2]))
    b, ib = p2.project_sequence(j, np.random.default_rng([5, 1, 0, 2]))
    np.testing.assert_array_equal(a, b)
    assert ia == ib
    assert a.shape == (90, 17, 3) and a.dtype == np.float32
    cam = ia["camera"]
    ok = a[..., 2] > 0
    assert ok.mean() > 0.6
    assert (a[..., 0][ok] >= 0).all() and (a[..., 0][ok] < cam["width"]).all()
    assert (a[..., 1][ok] >= 0).all() and (a[..., 1][ok] < cam["height"]).all()
    assert ((a[..., 2] >= 0) & (a[..., 2] <= 1)).all()
    # the head is above the ankles in the image (y down) whenever both are seen
    both = ok[:, 0] & ok[:, 15]
    assert (a[both, 0, 1] < a[both, 15, 1]).mean() > 0.9


def test_azimuth_sectors_disjoint() -> None:
    def covers(sectors: tuple, deg: float) -> bool:
        return any(lo <= deg < hi or lo <= deg - 360 < hi for lo, hi in sectors)

    for deg in np.arange(0, 360, 0.5):
        n = sum(covers(s, deg) for s in (p2.TRAIN_AZIMUTHS, p2.VAL_AZIMUTHS, p2.TEST_AZIMUTHS))
        assert n == 1, deg
    rng = np.random.default_rng(0)
    for _ in range(200):
        cam = p2.sample_camera(_walker(10), p2.CameraRanges(azimuths=p2.TEST_AZIMUTHS), rng)
        assert covers(p2.TEST_AZIMUTHS, cam.azimuth)


def test_face_points_in_front_of_the_head() -> None:
    j = _walker(2)   # faces +z (left shoulder at +x)
    face = p2.face_points(j)
    assert (face[:, 0, 2] > j[:, 3, 2]).all()                 # nose in front
    assert (face[:, 1, 0] > face[:, 2, 0]).all()              # left eye on the left (+x)
    assert (face[:, 3, 0] > face[:, 4, 0]).all()


# ----------------------------------------------------------------------------- model path
def test_2d_recording_with_3d_model_says_what_to_do() -> None:
    import skelzoo
    from skelzoo.localization.input_spec import InputSpec, to_model_tensor

    seq = SkeletonSequence(_seq()[..., :2], "coco17", 30.0, {"source": "pose.json"}, confidence=_seq()[..., 2])
    spec = InputSpec(layout="ntu25", in_channels=3, num_joints=25, num_person=1, fps=30.0, preprocess="ntu_bodysize")
    with pytest.raises(ValueError, match="no 2-D model is selected") as e:
        to_model_tensor(seq, spec)
    assert "expects 3-D" in str(e.value) and "coco2d" in str(e.value)
    spec2 = InputSpec(layout="coco17", in_channels=3, num_joints=17, num_person=2, fps=30.0, preprocess="coco2d")
    x = to_model_tensor(seq, spec2)
    assert tuple(x.shape) == (1, 3, 40, 17, 2)
    np.testing.assert_allclose(x[0].permute(1, 3, 2, 0).numpy(), normalise_2d(with_scores(seq.data, seq.confidence)),
                               atol=1e-6)
    assert skelzoo is not None
