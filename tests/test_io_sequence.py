"""SkeletonSequence validation and conversions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from skelzoo.io.sequence import SkeletonSequence


def _data(t: int = 4, m: int = 2, v: int = 25, c: int = 3) -> np.ndarray:
    return np.random.default_rng(0).normal(size=(t, m, v, c)).astype(np.float64)


def test_basic_properties_and_tensor() -> None:
    seq = SkeletonSequence(_data(), "ntu25", 30, {})
    assert seq.data.dtype == np.float32
    assert (seq.num_frames, seq.num_persons, seq.num_joints, seq.num_channels) == (4, 2, 25, 3)
    assert seq.duration == pytest.approx(4 / 30)
    x = seq.to_tensor()
    assert x.shape == (1, 3, 4, 25, 2) and x.dtype == torch.float32
    assert torch.equal(x[0, :, 1, 7, 0], torch.from_numpy(seq.data[1, 0, 7]))
    assert "T=4" in repr(seq)


@pytest.mark.parametrize("bad", [np.zeros((4, 25, 3)), np.zeros((4, 1, 20, 3))])
def test_shape_must_match_layout(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        SkeletonSequence(bad, "ntu25")


def test_unknown_layout_needs_joint_names() -> None:
    with pytest.raises(ValueError, match="joint_names"):
        SkeletonSequence(np.zeros((2, 1, 3, 3)), "myrig")
    seq = SkeletonSequence(np.zeros((2, 1, 3, 3)), "myrig", meta={"joint_names": ["a", "b", "c"]})
    assert seq.joint_names == ("a", "b", "c")


def test_nan_only_with_missing_mask() -> None:
    d = _data()
    d[:, :, 21:] = np.nan
    with pytest.raises(ValueError, match="missing"):
        SkeletonSequence(d, "ntu25")
    mask = np.zeros(25, bool)
    mask[21:] = True
    seq = SkeletonSequence(d, "ntu25", meta={"missing": mask})
    assert seq.missing.shape == (4, 2, 25) and seq.missing[:, :, 21:].all() and not seq.missing[:, :, :21].any()
    assert torch.isfinite(seq.to_tensor()).all()
    mask[22] = False  # a NaN not marked missing
    with pytest.raises(ValueError, match="does not mark"):
        SkeletonSequence(d, "ntu25", meta={"missing": mask})


def test_inf_fps_and_confidence_validation() -> None:
    d = _data()
    d[0, 0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="inf"):
        SkeletonSequence(d, "ntu25")
    with pytest.raises(ValueError, match="fps"):
        SkeletonSequence(_data(), "ntu25", fps=0)
    with pytest.raises(ValueError, match="confidence"):
        SkeletonSequence(_data(), "ntu25", confidence=np.ones((4, 2, 24)))
    seq = SkeletonSequence(_data(), "ntu25", confidence=np.ones((4, 2, 25)))
    assert seq.confidence.dtype == np.float32
    seq2 = seq.replace(fps=60)
    assert seq2.fps == 60 and seq2.meta is not seq.meta
