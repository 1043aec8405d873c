"""Readers on the real recordings of ``../shared/data`` (skipped when absent; nothing is copied)."""
from __future__ import annotations

import json
import tarfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from skelzoo.io import (
    babel_frame_labels,
    convert_layout,
    load_babel_categories,
    read_babel,
    read_skeleton,
    write_ntu_skeleton,
)
from skelzoo.io.sequence import SkeletonSequence

pytestmark = pytest.mark.data

NTU_FRAMES = {"S001C001P001R001A001": 103, "S001C001P001R001A002": 158, "S001C001P001R001A004": 99,
              "S001C003P008R002A058": 70, "S002C001P003R001A003": 100, "S004C002P003R001A017": 124}
KINECT_FRAMES = {"Ges01_wavehand": 154, "Ges02_balancinghands": 161, "Ges03_drawlines": 213,
                 "Ges04_comehere": 172, "Ges05_demopoint": 190, "Ges06_chickenwing": 160, "joints": 371}
# 0-based NTU joints
SPINE_BASE, NECK, HIP_L, KNEE_L, SH_L, ELB_L, SH_R, ANKLE_L, FOOT_L, ANKLE_R, FOOT_R = 0, 2, 12, 13, 4, 5, 8, 14, 15, 18, 19


def _bone(seq: SkeletonSequence, a: int, b: int) -> float:
    """Median length of bone a-b over frames where person 0 is present."""
    d = seq.data[:, 0]
    present = (d != 0).any(axis=(1, 2))
    return float(np.median(np.linalg.norm(d[present, a] - d[present, b], axis=-1)))


def _check_bones(seq: SkeletonSequence, thigh_min: float = 0.3) -> None:
    assert thigh_min <= _bone(seq, HIP_L, KNEE_L) <= 0.6, "thigh"
    assert 0.2 <= _bone(seq, SH_L, ELB_L) <= 0.4, "upper arm"


def _body_forward(seq: SkeletonSequence) -> np.ndarray:
    """Per-frame horizontal facing direction implied by the skeleton's own left/right labels, ``(T, 3)``.

    With y up and the actor facing ``f``, the actor's left is ``up x f`` (so ``f = left x up``). Using
    ``ShoulderLeft - ShoulderRight`` as "left" and ``Neck - SpineBase`` as "up", a left/right swap in a
    reader or mapping flips this vector; tests compare it with independent cues (camera, feet, motion).
    """
    d = seq.data[:, 0].astype(np.float64)
    f = np.cross(d[:, SH_L] - d[:, SH_R], d[:, NECK] - d[:, SPINE_BASE])
    f[:, 1] = 0
    return f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1e-9)


def _feet_forward(seq: SkeletonSequence) -> np.ndarray:
    """Per-frame horizontal direction the feet point to (ankle -> foot, both feet), ``(T, 3)``."""
    d = seq.data[:, 0].astype(np.float64)
    f = (d[:, FOOT_L] - d[:, ANKLE_L]) + (d[:, FOOT_R] - d[:, ANKLE_R])
    f[:, 1] = 0
    return f / np.maximum(np.linalg.norm(f, axis=-1, keepdims=True), 1e-9)


def _agree(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of frames where two direction fields point the same way."""
    return float(((a * b).sum(-1) > 0).mean())


# ----------------------------------------------------------------------------- NTU, PKU-MMD, Kinect
def test_ntu_samples(data_dir: Path, tmp_path: Path) -> None:
    files = sorted((data_dir / "ntu-rgbd-samples").glob("*.skeleton"))
    assert {f.stem for f in files} == set(NTU_FRAMES)
    for f in files:
        seq = read_skeleton(f)
        assert seq.num_frames == NTU_FRAMES[f.stem] and seq.data.shape[1:] == (2, 25, 3)
        present = (seq.data != 0).any(axis=(2, 3))
        two = f.stem.endswith("A058")
        assert present[:, 0].all() and present[:, 1].all() == two and present[:, 1].any() == two
        assert seq.meta["bodies_per_frame"].tolist() == [2 if two else 1] * seq.num_frames
        assert set(np.unique(seq.meta["tracking_state"][present])) <= {0, 1, 2}
        _check_bones(seq)
        write_ntu_skeleton(seq, tmp_path / f.name)  # lossless round trip through our writer
        back = read_skeleton(tmp_path / f.name)
        np.testing.assert_array_equal(back.data, seq.data)
        np.testing.assert_array_equal(back.meta["color_xy"], seq.meta["color_xy"])


def test_pkummd_sample(data_dir: Path) -> None:
    seq = read_skeleton(data_dir / "pku-mmd-sample" / "A10N08-L.txt")
    assert seq.data.shape == (1040, 2, 25, 3) and seq.layout == "ntu25"
    assert (seq.data[:, 0] != 0).any(axis=(1, 2)).all()
    _check_bones(seq)


def test_kinect_csvs(data_dir: Path) -> None:
    files = sorted((data_dir / "kinect-v2-gestures").glob("*.csv"))
    assert {f.stem for f in files} == set(KINECT_FRAMES)
    for f in files:
        seq = read_skeleton(f)
        assert seq.num_frames == KINECT_FRAMES[f.stem] and 29 <= seq.fps <= 31
        assert set(np.unique(seq.confidence)) <= {0.0, 0.5, 1.0}
        _check_bones(seq, thigh_min=0.25)  # Kinect places its hip joints high/inward: shorter thighs
        # the actor faces the sensor, i.e. forward = -z in camera space
        assert _agree(_body_forward(seq), np.array([0.0, 0.0, -1.0])) > 0.95
        conv = convert_layout(seq, "ntu25")
        assert conv.layout == "ntu25"


# ----------------------------------------------------------------------------- BVH
def test_cmu_bvh(data_dir: Path) -> None:
    raw = read_skeleton(data_dir / "cmu-mocap" / "01_01.bvh")
    assert raw.layout == "bvh_cmu" and raw.num_frames == 2752 and raw.fps == 120 and raw.num_joints == 38
    seq = convert_layout(raw, "ntu25")
    assert np.isfinite(seq.data).all()
    _check_bones(seq)
    height = seq.data[:, 0, 3, 1] - np.minimum(seq.data[:, 0, FOOT_L, 1], seq.data[:, 0, FOOT_R, 1])
    assert 1.3 < float(np.percentile(height, 95)) < 2.0  # head above the feet, metres
    assert _agree(_body_forward(seq), _feet_forward(seq)) > 0.9


def _bandai_clips(archive: Path, dest: Path, keep, limit: int | None = None) -> list[tuple[Path, int]]:
    """Stream the archive; write the kept ``.bvh`` members to ``dest``; return (path, content label).

    With ``limit``, streaming stops after ``limit`` clips (xz cannot seek: this saves decompressing the
    rest); their label files may not have been seen then (label -1).
    """
    labels: dict[str, int] = {}
    out = []
    with tarfile.open(archive, "r|xz") as tar:
        for member in tar:
            name = member.name
            if not member.isfile() or not (name.endswith(".bvh") or name.endswith(".json")):
                continue
            stem = Path(name).stem
            if not keep(stem):
                continue
            payload = tar.extractfile(member).read()
            if name.endswith(".json"):
                labels[stem] = json.loads(payload)["content"]
            else:
                p = dest / Path(name).name
                p.write_bytes(payload)
                out.append(p)
            if limit is not None and len(out) >= limit:
                break
    return [(p, labels.get(p.stem, -1)) for p in sorted(out)]


def _check_bandai(clips: list[tuple[Path, int]], labelled: bool = True) -> int:
    """Parse, convert and sanity-check clips; returns the total frame count."""
    total = 0
    for path, content in clips:
        raw = read_skeleton(path)
        assert raw.layout == "bvh_bandai" and raw.fps == 30 and (content >= 0 or not labelled), path.name
        seq = convert_layout(raw, "ntu25")
        total += seq.num_frames
        _check_bones(seq)
        body = _body_forward(seq)
        action = path.stem.split("_")[1]
        if action in ("walk", "run", "dash"):  # moves forward: facing agrees with the root displacement
            hips = seq.data[:, 0, SPINE_BASE].astype(np.float64)
            disp = hips[-1] - hips[0]
            disp[1] = 0
            assert _agree(body, disp / np.linalg.norm(disp)) > 0.9, path.name
        else:  # facing agrees with where the feet point
            assert _agree(body, _feet_forward(seq)) > 0.75, path.name
    return total


def test_bandai_dataset1_all(data_dir: Path, tmp_path: Path) -> None:
    clips = _bandai_clips(data_dir / "bandai-namco-motion-1.tar.xz", tmp_path, lambda stem: True)
    assert len(clips) == 174
    # the data README says ~36.7k frames; the 174 'Frames:' headers (and the frame lines) sum to 31,914
    assert _check_bandai(clips) == 31914


def _sample_1_in_8(stem: str) -> bool:
    return zlib.crc32(f"skelzoo-seed-0:{stem}".encode()) % 8 == 0


def test_bandai_dataset2_sample(data_dir: Path, tmp_path: Path) -> None:
    """A seeded sample of 50 clips (hash of the name; the archive order is unsorted, so the first 50 hits
    are spread over contents and styles)."""
    clips = _bandai_clips(data_dir / "bandai-namco-motion-2.tar.xz", tmp_path, _sample_1_in_8, limit=50)
    assert len(clips) == 50
    assert len({p.stem.split("_")[1] for p, _ in clips}) >= 5  # several contents
    _check_bandai(clips, labelled=False)


@pytest.mark.slow
def test_bandai_dataset2_all(data_dir: Path, tmp_path: Path) -> None:
    clips = _bandai_clips(data_dir / "bandai-namco-motion-2.tar.xz", tmp_path, lambda stem: True)
    assert len(clips) == 2902
    assert _check_bandai(clips) == 384931


# ----------------------------------------------------------------------------- BABEL
def test_babel_real_entry(data_dir: Path) -> None:
    anns = read_babel(data_dir / "babel" / "babel_real_excerpt_sid7692.json")
    ann = anns["7692"]
    multi, labels = babel_frame_labels(ann, {"walk": 0, "stand": 1, "turn": 2, "jump": 3}, background=4)
    assert labels.tolist() == [1] * 30 + [4] * 60 + [1] * 24
    cats = load_babel_categories(data_dir / "babel" / "action_label_2_idx.json")
    assert len(cats) == 150 and cats["walk"] == 0
    multi, labels = babel_frame_labels(ann, load_babel_categories(data_dir / "babel" / "action_label_2_idx.json",
                                                                  num_classes=60))
    assert multi[:, cats["stand"]].sum() == 54
    if cats.get("hop", 999) < 60:
        assert multi[:, cats["hop"]].sum() == 60
