"""2-D pose-estimator readers (OpenPose, MMPose, MediaPipe, YOLO-pose) on fixtures in each estimator's output
format (``tests/data/pose2d``, numbers synthesised: one person standing in a 640 x 480 image, moving 4 px
right per frame, left ear missing in frame 1), detection, conversions, errors and the round trip through
the writers of :mod:`skelzoo.io.pose2d_writers`."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from skelzoo.errors import FormatError
from skelzoo.io import SkeletonSequence, detect_format, find_recordings, read_skeleton
from skelzoo.io.keypoints_json import write_keypoints_json
from skelzoo.io.mediapipe import read_mediapipe
from skelzoo.io.pose2d_writers import (
    write_mediapipe_csv,
    write_mediapipe_json,
    write_mmpose,
    write_openpose,
    write_yolo_pose,
)
from skelzoo.io.yolo_pose import read_yolo_pose

DATA = Path(__file__).parent / "data" / "pose2d"
W, H = 640, 480
BASE = np.array([(320, 100), (328, 92), (312, 92), (338, 98), (302, 98), (350, 150), (290, 150), (360, 210),
                 (280, 210), (365, 265), (275, 265), (340, 270), (300, 270), (342, 350), (298, 350), (344, 430),
                 (296, 430)], dtype=np.float64)


def expected(t: int) -> tuple[np.ndarray, np.ndarray]:
    """coco17 pixels (17, 2) and scores (17,) of fixture frame ``t``."""
    xy = BASE + [4 * t, 0]
    s = np.full(17, 0.9)
    if t == 1:
        xy[3] = 0
        s[3] = 0
    return xy, s


FIXTURES = {
    "openpose_body25": "openpose", "openpose_coco18": "openpose", "mmpose_video.json": "mmpose",
    "mmpose_image.json": "mmpose", "mediapipe.csv": "mediapipe", "mediapipe.json": "mediapipe",
    "yolo_pose": "yolo_pose",
}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_detection_picks_the_format(name: str) -> None:
    assert detect_format(DATA / name) == FIXTURES[name]


def test_detection_single_files() -> None:
    assert detect_format(DATA / "openpose_body25" / "clip_000000000001_keypoints.json") == "openpose"
    assert detect_format(DATA / "yolo_pose" / "clip_1.txt") == "yolo_pose"


@pytest.mark.parametrize("name", ["openpose_body25", "openpose_coco18"])
def test_openpose(name: str) -> None:
    seq = read_skeleton(DATA / name)
    assert seq.layout == "coco17" and seq.data.shape == (3, 2, 17, 2)
    assert seq.meta["openpose_model"] == ("BODY_25" if "25" in name else "COCO-18")
    assert seq.meta["coordinates"] == "pixels"
    for t in range(3):
        xy, s = expected(t)
        np.testing.assert_allclose(seq.data[t, 0], xy, atol=1e-3)
        np.testing.assert_allclose(seq.confidence[t, 0], s, atol=1e-6)
    np.testing.assert_allclose(seq.data[0, 1], BASE + [200, 0], atol=1e-3)  # second person in frame 0
    assert not seq.confidence[1:, 1].any()


def test_mmpose_video_and_image(tmp_path: Path) -> None:
    seq = read_skeleton(DATA / "mmpose_video.json")
    assert seq.data.shape == (3, 1, 17, 2) and seq.meta["first_frame"] == 1
    for t in range(3):
        xy, s = expected(t)
        np.testing.assert_allclose(seq.data[t, 0], xy, atol=1e-3)
        np.testing.assert_allclose(seq.confidence[t, 0], s, atol=1e-6)
    frames = json.loads((DATA / "mmpose_video.json").read_text())["instance_info"]
    inferencer = tmp_path / "video.json"   # MMPoseInferencer on a video: the frame list alone
    inferencer.write_text(json.dumps(frames))
    assert detect_format(inferencer) == "mmpose"
    np.testing.assert_array_equal(read_skeleton(inferencer).data, seq.data)
    img = read_skeleton(DATA / "mmpose_image.json")  # Halpe-26: first 17 kept; RTMPose score 1.02 clipped
    assert img.data.shape == (1, 1, 17, 2)
    np.testing.assert_allclose(img.data[0, 0], expected(0)[0], atol=1e-3)
    assert img.confidence[0, 0, 0] == 1.0


@pytest.mark.parametrize("name", ["mediapipe.csv", "mediapipe.json"])
def test_mediapipe(name: str) -> None:
    seq = read_skeleton(DATA / name)
    assert seq.data.shape == (4, 1, 17, 2) and seq.meta["coordinates"] == "normalised"
    px = read_mediapipe(DATA / name, image_size=(W, H))
    assert px.meta["coordinates"] == "pixels"
    for t in range(3):
        xy, s = expected(t)
        np.testing.assert_allclose(px.data[t, 0], xy, atol=1e-3)
        np.testing.assert_allclose(seq.data[t, 0], xy / [W, H], atol=1e-6)
        np.testing.assert_allclose(seq.confidence[t, 0], s, atol=1e-6)
    assert not seq.confidence[3].any() and not seq.data[3].any()  # frame without a person


def test_yolo_pose() -> None:
    seq = read_skeleton(DATA / "yolo_pose")
    assert seq.data.shape == (4, 1, 17, 2) and seq.meta["coordinates"] == "normalised"
    px = read_yolo_pose(DATA / "yolo_pose", image_size=(W, H))
    for t, src in ((0, 0), (1, 1), (3, 2)):
        xy, s = expected(src)
        np.testing.assert_allclose(px.data[t, 0], xy, atol=1e-3)
        np.testing.assert_allclose(seq.confidence[t, 0], s, atol=1e-6)
    assert not seq.confidence[2].any()  # clip_3.txt absent: no detection


def test_folders_are_one_recording(tmp_path: Path) -> None:
    shutil.copytree(DATA, tmp_path / "d")
    rec = find_recordings([tmp_path / "d"])
    names = sorted(p.name for p in rec)
    assert names == sorted(FIXTURES)
    assert find_recordings([tmp_path / "d" / "yolo_pose"]) == [tmp_path / "d" / "yolo_pose"]


def _bad(tmp_path: Path, name: str, payload: object) -> Path:
    p = tmp_path / name
    p.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return p


def test_errors_name_the_format(tmp_path: Path) -> None:
    d = tmp_path / "op"
    d.mkdir()
    _bad(d, "v_000000000000_keypoints.json", {"people": [{"pose_keypoints_2d": [1.0] * 60}]})
    with pytest.raises(FormatError, match="BODY_25 has 75.*COCO-18 has 54"):
        read_skeleton(d)
    p = _bad(tmp_path, "m.json", {"instance_info": [{"frame_id": 0, "instances": [
        {"keypoints": [[1, 2]] * 13, "keypoint_scores": [0.5] * 13}]}]})
    with pytest.raises(FormatError, match="K >= 17"):
        read_skeleton(p)
    p = _bad(tmp_path, "mp.csv", "frame," + ",".join(["x"] * 132) + "\n0," + ",".join(["0.5"] * 120) + "\n")
    with pytest.raises(FormatError, match="MediaPipe CSV row"):
        read_skeleton(p)
    p = _bad(tmp_path, "mp.json", [[{"x": 0.5, "y": 0.5, "visibility": 2.0}] * 33])
    with pytest.raises(FormatError, match="visibility"):
        read_skeleton(p)
    y = tmp_path / "y"
    y.mkdir()
    _bad(y, "c_1.txt", "0 " + " ".join(["0.5"] * 55) + "\n0 " + " ".join(["0.5"] * 50) + "\n")
    with pytest.raises(FormatError, match="YOLO-pose line"):
        read_skeleton(y)
    with pytest.raises(FormatError, match="OpenPose .* or YOLO-pose"):
        read_skeleton(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    e = tmp_path / "empty"
    e.mkdir()
    (e / "notes.md").write_text("hello")
    return e


def _projection() -> SkeletonSequence:
    """A 2-D recording from the virtual-camera projection (synthetic 3-D walk, no real data)."""
    from skelzoo.data.project2d import project_sequence

    rng = np.random.default_rng(0)
    t = np.arange(60)[:, None]
    j = np.zeros((60, 25, 3))
    # a crude standing skeleton (Y up, metres) walking along z
    j[:, 0] = [0, 0.9, 0]
    j[:, 1] = [0, 1.1, 0]
    j[:, 20] = [0, 1.4, 0]
    j[:, 2] = [0, 1.5, 0]
    j[:, 3] = [0, 1.57, 0]
    for side, sx in ((0, 1), (1, -1)):
        sh, el, wr, hd, hip, kn, an, ft = ((4, 5, 6, 7, 12, 13, 14, 15) if side == 0 else (8, 9, 10, 11, 16, 17, 18, 19))
        j[:, sh] = [0.18 * sx, 1.4, 0]
        j[:, el] = [0.22 * sx, 1.15, 0]
        j[:, wr] = [0.24 * sx, 0.9, 0]
        j[:, hd] = [0.24 * sx, 0.85, 0]
        j[:, hip] = [0.1 * sx, 0.9, 0]
        j[:, kn] = [0.1 * sx, 0.5, 0]
        j[:, an] = [0.1 * sx, 0.08, 0]
        j[:, ft] = [0.1 * sx, 0.0, 0.1]
    for k in (21, 22):
        j[:, k] = j[:, 7]
    for k in (23, 24):
        j[:, k] = j[:, 11]
    j[:, :, 2] += 0.02 * t
    kp, info = project_sequence(j, rng)
    seq = SkeletonSequence(kp[:, None, :, :2], "coco17", 30.0, {"camera": info["camera"]}, confidence=kp[:, None, :, 2])
    # YOLO-pose cannot represent trailing frames without persons: end at the last frame with one
    last = int(np.flatnonzero(seq.confidence.any(axis=(1, 2)))[-1])
    assert last > 40
    return SkeletonSequence(seq.data[:last + 1], "coco17", 30.0, seq.meta, confidence=seq.confidence[:last + 1])


def test_same_recording_from_every_format(tmp_path: Path) -> None:
    """One projected recording written as OpenPose, MMPose, MediaPipe, YOLO-pose and COCO-17 JSON reads back
    as the same coco17 tensor (x, y, score) within the written precision."""
    seq = _projection()
    cam = seq.meta["camera"]
    size = (cam["width"], cam["height"])
    write_openpose(seq, tmp_path / "op")
    write_openpose(seq, tmp_path / "op18", model="COCO-18")
    write_mmpose(seq, tmp_path / "mm.json")
    write_mediapipe_csv(seq, tmp_path / "mp.csv", image_size=size)
    write_mediapipe_json(seq, tmp_path / "mp.json", image_size=size)
    write_yolo_pose(seq, tmp_path / "yolo", image_size=size)
    write_keypoints_json(seq, tmp_path / "kp.json")
    kinds = {"op": "openpose", "op18": "openpose", "mm.json": "mmpose", "mp.csv": "mediapipe",
             "mp.json": "mediapipe", "yolo": "yolo_pose", "kp.json": "keypoints_json"}
    ref = seq.to_tensor()
    for name, fmt in kinds.items():
        assert detect_format(tmp_path / name) == fmt, name
        if fmt == "mediapipe":
            got = read_mediapipe(tmp_path / name, image_size=size)
        elif fmt == "yolo_pose":
            got = read_yolo_pose(tmp_path / name, image_size=size)
        else:
            got = read_skeleton(tmp_path / name)
        assert got.data.shape == seq.data.shape, name
        np.testing.assert_allclose(got.to_tensor().numpy(), ref.numpy(), atol=2e-3 * max(size), err_msg=name)
        np.testing.assert_allclose(got.confidence, seq.confidence, atol=1e-3, err_msg=name)


def test_same_model_input_and_segments_from_every_format(tmp_path: Path) -> None:
    """Through the bundled 2-D default localizer, the example recording filmed in 2-D and written as OpenPose,
    MMPose, MediaPipe and YOLO-pose files gives the same model input and the same segments (label, start and
    end within a frame) as the recording itself; and the segments are sensible (the example's actions)."""
    import skelzoo
    from skelzoo.data.synth import example_sequence_2d
    from skelzoo.io.mmpose import read_mmpose
    from skelzoo.io.openpose import read_openpose

    seq, labels = example_sequence_2d()
    size = seq.meta["image_size"]
    write_openpose(seq, tmp_path / "op")
    write_mmpose(seq, tmp_path / "mm.json")
    write_mediapipe_csv(seq, tmp_path / "mp.csv", image_size=size)
    write_yolo_pose(seq, tmp_path / "yolo", image_size=size)
    recordings = {"openpose": read_openpose(tmp_path / "op"), "mmpose": read_mmpose(tmp_path / "mm.json"),
                  "mediapipe": read_mediapipe(tmp_path / "mp.csv", image_size=size),
                  "yolo_pose": read_yolo_pose(tmp_path / "yolo", image_size=size)}
    model = skelzoo.load_model(skelzoo.models.DEFAULT_LOCALIZER_2D)
    assert model.input_spec.preprocess == "coco2d" and model.input_spec.layout == "coco17"
    ref_x, _ = skelzoo.prepare(seq, model, check=False)
    ref = model.localize(seq)[0]
    found = {s.name for s in ref}
    assert {"wave-right-hand", "wave-both-hands"} <= found and found & {"walk", "walk-turn-left", "walk-turn-right"}
    for name, rec in recordings.items():
        x, _ = skelzoo.prepare(rec, model, check=False)
        np.testing.assert_allclose(x.numpy(), ref_x.numpy(), atol=5e-3, err_msg=name)
        got = model.localize(rec)[0]
        assert len(got) == len(ref), name
        for a, b in zip(got, ref):
            assert a.label == b.label and abs(a.start - b.start) <= 1 and abs(a.end - b.end) <= 1, name


def test_cli_picks_the_2d_default_for_2d_keypoints(tmp_path: Path) -> None:
    """``skelzoo localize`` without --model on an OpenPose folder uses the bundled 2-D localizer (and says so);
    a 3-D recording in the same call keeps the 3-D default; ``extract`` does the same."""
    import json
    import subprocess
    import sys

    from skelzoo.data.synth import example_sequence, example_sequence_2d
    from skelzoo.io import write_npz

    write_openpose(example_sequence_2d()[0], tmp_path / "op", name="clip")
    write_npz(example_sequence()[0], tmp_path / "rec3d.npz")
    cmd = [sys.executable, "-m", "skelzoo.cli.main", "localize", str(tmp_path / "op"), str(tmp_path / "rec3d.npz"),
           "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "holds 2-D keypoints" in r.stderr and "stgcn_ssl_ufusion.snipclr_bandai2d" in r.stderr
    doc = json.loads(r.stdout)
    models = {Path(e["input"]).name: e["model"] for e in doc["results"]}
    assert models == {"op": "stgcn_ssl_ufusion.snipclr_bandai2d", "rec3d.npz": "stgcnpp_ufusion.snipclr_bandai_w16"}
    assert all(e["segments"] for e in doc["results"])
    r = subprocess.run([sys.executable, "-m", "skelzoo.cli.main", "extract", str(tmp_path / "op"), "--out",
                        str(tmp_path / "f.npz")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    feats = json.loads(r.stdout)["features"]
    assert feats[0]["model"] == "stgcn_ssl_ufusion.snipclr_bandai2d" and feats[0]["shape"][0] == 720
