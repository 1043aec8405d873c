"""Layout conversion to NTU-25."""
from __future__ import annotations

import numpy as np
import pytest

from skelzoo.io.layout_conversion import SMPLH73_JOINTS, available_conversions, convert_layout, zup_to_yup
from skelzoo.io.sequence import SkeletonSequence
from skelzoo.layouts import get_layout

NTU = get_layout("ntu25").joints


def _seq(layout: str, c: int = 3, t: int = 3, **kw: object) -> SkeletonSequence:
    v = get_layout(layout).num_joints
    data = np.random.default_rng(1).normal(size=(t, 1, v, c)).astype(np.float32)
    return SkeletonSequence(data, layout, 30.0, {}, **kw)


def _j(seq: SkeletonSequence, name: str) -> np.ndarray:
    return seq.data[:, :, seq.joint_names.index(name)]


def test_kinect20_to_ntu25_neighbour_and_missing() -> None:
    src = _seq("kinect20", confidence=np.full((3, 1, 20), 0.5, np.float32))
    out = convert_layout(src, "ntu25")
    assert out.layout == "ntu25" and out.data.shape == (3, 1, 25, 3) and np.isfinite(out.data).all()
    np.testing.assert_array_equal(out.data[:, :, 20], _j(src, "ShoulderCenter"))  # NTU 21
    np.testing.assert_array_equal(out.data[:, :, 2], _j(src, "ShoulderCenter"))  # NTU 3 (neck)
    np.testing.assert_array_equal(out.data[:, :, 21], _j(src, "HandLeft"))  # hand tip <- hand
    np.testing.assert_array_equal(out.data[:, :, 4], _j(src, "ShoulderLeft"))
    assert (out.confidence == 0.5).all()
    miss = convert_layout(src, "ntu25_pyskl", fill="missing")
    assert miss.layout == "ntu25_pyskl"
    assert miss.missing[:, :, 21:].all() and not miss.missing[:, :, :21].any()
    assert np.isnan(miss.data[:, :, 21:]).all() and (miss.confidence[:, :, 21:] == 0).all()


def test_openni_and_coco_means() -> None:
    src = _seq("openni15")
    out = convert_layout(src, "ntu25")
    np.testing.assert_allclose(out.data[:, :, 0], (_j(src, "LeftHip") + _j(src, "RightHip")) / 2, rtol=1e-6)
    np.testing.assert_array_equal(out.data[:, :, 6], _j(src, "LeftHand"))  # wrist <- hand
    coco = _seq("coco17", c=2)
    out = convert_layout(coco, "ntu25")
    assert out.data.shape == (3, 1, 25, 2)
    sh = (_j(coco, "left_shoulder") + _j(coco, "right_shoulder")) / 2
    np.testing.assert_allclose(out.data[:, :, 20], sh, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.data[:, :, 2], (sh + _j(coco, "nose")) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out.data[:, :, 12], _j(coco, "left_hip"))


def test_smplh_table_and_axes() -> None:
    src = _seq("smplh73")
    out = convert_layout(src, "ntu25")
    for ntu, idx in ((1, 0), (3, 12), (8, 22), (12, 37), (21, 9), (22, 63), (25, 69)):
        np.testing.assert_array_equal(out.data[:, :, ntu - 1], src.data[:, :, idx])
    assert SMPLH73_JOINTS[22] == "left_index1"
    np.testing.assert_array_equal(zup_to_yup(np.array([1.0, 2.0, 3.0])), [1.0, 3.0, -2.0])


def test_bvh_rig_by_names_and_missing_propagation() -> None:
    bandai = get_layout("bvh_bandai")
    data = np.random.default_rng(2).normal(size=(2, 1, bandai.num_joints, 3)).astype(np.float32)
    custom = SkeletonSequence(data[:, :, ::-1].copy(), "bvh", 30.0, {"joint_names": list(bandai.joints[::-1])})
    a = convert_layout(custom, "ntu25")
    b = convert_layout(SkeletonSequence(data, "bvh_bandai"), "ntu25")
    np.testing.assert_array_equal(a.data, b.data)
    assert "bvh_bandai" in a.meta["converted_from"]
    data[:, :, bandai.index("Hand_L")] = np.nan
    mask = np.zeros(bandai.num_joints, bool)
    mask[bandai.index("Hand_L")] = True
    c = convert_layout(SkeletonSequence(data, "bvh_bandai", meta={"missing": mask}), "ntu25")
    assert c.missing[:, :, 6].all() and not c.missing[:, :, [7, 10, 21]].any()  # tips come from the end site


def test_errors_and_identity() -> None:
    seq = _seq("ntu25")
    assert convert_layout(seq, "ntu25").data is not None
    with pytest.raises(ValueError, match="cannot convert to"):
        convert_layout(_seq("kinect20"), "coco17")
    with pytest.raises(ValueError, match="no conversion"):
        convert_layout(SkeletonSequence(np.zeros((1, 1, 2, 3)), "x", meta={"joint_names": ["a", "b"]}), "ntu25")
    with pytest.raises(ValueError, match="fill"):
        convert_layout(_seq("kinect20"), "ntu25", fill="zero")  # type: ignore[arg-type]
    assert set(available_conversions()) >= {"kinect20", "openni15", "coco17", "bvh_bandai", "bvh_cmu", "smplh73"}
