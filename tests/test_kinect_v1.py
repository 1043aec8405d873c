"""Recordings as sensors log them (issue #15, item 7): Kinect SDK v1 text formats (frame id + 20 x 3 per row
with sparse and repeated ids; MSR Action3D's 20 rows ``x y z c`` per frame), read with frame times and
localized after resampling on time (repeats averaged, gaps bridged, long gaps reported)."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import skelzoo
from skelzoo.errors import FormatError, InputWarning
from skelzoo.io import SkeletonSequence, detect_format, read_kinect_v1, read_msr3d, write_kinect_v1
from skelzoo.io.kinect_v1 import MSR3D_TO_KINECT20

#: NTU-25 joint (0-based) that each Kinect SDK v1 joint is (formats.md §6: k -> k, ShoulderCenter -> 21)
KINECT20_FROM_NTU = [0, 1, 20] + list(range(3, 20))


def _example_kinect20() -> SkeletonSequence:
    from skelzoo.data.synth import example_sequence

    seq = example_sequence()[0]
    return SkeletonSequence(seq.data[:, :, KINECT20_FROM_NTU], "kinect20", 30.0)


def _sparse_ids(n: int, seed: int = 0, gap: tuple[int, int] | None = None) -> np.ndarray:
    """About one row per 2-3 depth frames, ids that skip irregularly and sometimes repeat."""
    rng = np.random.default_rng(seed)
    ids, i = [], 0
    while i < n:
        ids.append(i)
        if rng.random() < 0.08:
            ids.append(i)  # the same depth frame logged twice
        i += int(rng.integers(1, 5))
    ids = np.array(ids)
    if gap is not None:
        ids = ids[(ids < gap[0]) | (ids >= gap[1])]
    return ids


def test_kinect_v1_rows_read_with_frame_times(tmp_path: Path) -> None:
    dense = _example_kinect20()
    ids = _sparse_ids(dense.num_frames)
    sparse = SkeletonSequence(dense.data[ids], "kinect20", 30.0)
    path = tmp_path / "joints_s01_e01.txt"
    write_kinect_v1(sparse, path, frame_ids=ids)
    assert detect_format(path) == "kinect_v1"
    seq = skelzoo.read_skeleton(path)
    assert seq.layout == "kinect20" and seq.num_frames == len(ids) and seq.fps < 30.0
    np.testing.assert_array_equal(seq.meta["frame_ids"], ids)
    np.testing.assert_allclose(seq.meta["timestamps"], (ids - ids[0]) / 30.0)
    np.testing.assert_allclose(seq.data, sparse.data, atol=1e-5)
    comma = tmp_path / "comma.txt"
    comma.write_text("\n".join(",".join(line.split()) for line in path.read_text().splitlines()) + "\n")
    assert detect_format(comma) == "kinect_v1" and skelzoo.read_skeleton(comma).num_frames == len(ids)


def test_kinect_v1_errors_name_the_line(tmp_path: Path) -> None:
    row = "5 " + " ".join(["0.1"] * 60)
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{row}\n3 " + " ".join(["0.1"] * 60) + "\n")
    with pytest.raises(FormatError, match=r"bad.txt, line 2: frame id 3 after 5"):
        read_kinect_v1(bad)
    bad.write_text(f"{row}\n6 " + " ".join(["0.1"] * 59) + "\n")
    with pytest.raises(FormatError, match=r"line 2: expected 61"):
        read_kinect_v1(bad)


def test_resample_on_time_averages_repeats_and_bridges_gaps() -> None:
    from skelzoo.data.timing import resample_on_time

    data = np.zeros((5, 1, 20, 3), np.float32)
    data[..., 0] = np.array([0.0, 1.0, 3.0, 2.0, 10.0])[:, None, None] + 1  # x = time + 1 (frame 3 repeats 2)
    data[..., 1] = 1.0
    seq = SkeletonSequence(data, "kinect20", 30.0, {"timestamps": np.array([0, 1, 2, 2, 3]) / 10.0})
    out, index, report = resample_on_time(seq, 20.0)
    assert out.num_frames == 7 and out.fps == 20.0 and report.duplicates == 1 and not report.gaps
    # times 0, .05, .1, .15, .2, .25, .3: the repeated frame at .2 is the mean of 3 and 2 (x = 3.5)
    np.testing.assert_allclose(out.data[:, 0, 0, 0], [1, 1.5, 2, 2.75, 3.5, 7.25, 11], atol=1e-5)
    np.testing.assert_array_equal(index, [0, 0, 1, 1, 3, 3, 4])
    gappy = seq.replace(meta={"timestamps": np.array([0, 1, 2, 2, 13]) / 10.0})
    out, _, report = resample_on_time(gappy, 10.0, max_gap=0.5)
    assert report.gaps == [(pytest.approx(0.2), pytest.approx(1.3))] and "gap" in report.messages()[0]
    assert (out.data[3:13] == 0).all() and (out.data[13] != 0).any()


def test_sparse_kinect_v1_recording_is_localized(tmp_path: Path, capsys) -> None:
    from skelzoo.cli.main import main

    dense = _example_kinect20()
    ids = _sparse_ids(dense.num_frames, seed=1)
    path = tmp_path / "joints_s02_e01.txt"
    write_kinect_v1(SkeletonSequence(dense.data[ids], "kinect20", 30.0), path, frame_ids=ids)
    loc = skelzoo.load_model("stgcn_ssl_ufusion.snipclr_bandai")
    seq = skelzoo.read_skeleton(path)
    x, rate = skelzoo.prepare(seq, loc)
    assert x.shape[2] == ids[-1] - ids[0] + 1 and rate.resampled  # one model frame per depth frame (30 fps)
    segs = loc.localize(seq)[0]
    ref = loc.localize(dense)[0]
    names = {s.name for s in segs}
    assert {"walk", "raise-up-both-hands"} <= names and names <= {s.name for s in ref} | {"walk"}
    for s in segs:  # frames are the file's rows; seconds come from the frame ids
        assert 0 <= s.start < s.end <= seq.num_frames
        assert s.start_s == pytest.approx((ids[s.start] - ids[0]) / 30.0)
    walks = [s for s in segs if s.name == "walk"]
    assert abs(walks[0].start_s - 2.0) < 1.0 and abs(walks[-1].start_s - 19.0) < 1.0
    assert main(["localize", str(path), "--json", "--model", "stgcn_ssl_ufusion.snipclr_bandai"]) == 0
    doc = json.loads(capsys.readouterr().out)["results"][0]
    assert doc["segments"] == [s.to_dict() for s in segs] and doc["format"] == "kinect_v1"
    assert doc["layout"] == "kinect20" and doc["model_fps"] == 30.0
    # a 2-second hole in the log is reported, not silently bridged
    holed = tmp_path / "holed.txt"
    hid = _sparse_ids(dense.num_frames, seed=1, gap=(300, 360))
    write_kinect_v1(SkeletonSequence(dense.data[hid], "kinect20", 30.0), holed, frame_ids=hid)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loc.localize(skelzoo.read_skeleton(holed))
    assert any(issubclass(w.category, InputWarning) and "gap" in str(w.message) for w in caught)


def test_msr3d_reader(tmp_path: Path) -> None:
    dense = _example_kinect20()
    kin = dense.data[:30, 0]  # (T, 20, 3) in Kinect v1 order
    msr = np.zeros_like(kin)
    msr[:, list(MSR3D_TO_KINECT20)] = kin  # MSR row order
    rows = np.concatenate([msr, np.ones(msr.shape[:2] + (1,), np.float32)], axis=-1).reshape(-1, 4)
    path = tmp_path / "a01_s01_e01_skeleton3D.txt"
    path.write_text("".join(" ".join(f"{v:.6f}" for v in r) + "\n" for r in rows))
    assert detect_format(path) == "msr3d"
    seq = skelzoo.read_skeleton(path)
    assert seq.layout == "kinect20" and seq.fps == 15.0 and seq.num_frames == 30
    np.testing.assert_allclose(seq.data[:, 0], kin, atol=1e-5)
    ntu = skelzoo.read_skeleton(path, layout="ntu25")
    assert ntu.layout == "ntu25" and ntu.num_joints == 25
    path.write_text("".join(" ".join(f"{v:.6f}" for v in r) + "\n" for r in rows[:-3]))
    with pytest.raises(FormatError, match="not a multiple of 20"):
        read_msr3d(path)


def test_frame_times_property_and_backward_times() -> None:
    from skelzoo.localization.pipeline import to_model_rate

    dense = _example_kinect20()
    seq = SkeletonSequence(dense.data[:60], "kinect20", 30.0, {"timestamps": np.arange(60) / 30.0 + 100.0})
    assert seq.timestamps is not None and seq.timestamps[0] == 100.0 and dense.timestamps is None
    back = seq.replace(meta={"timestamps": np.r_[np.arange(30), np.arange(30)] / 30.0})  # a clock reset
    out, rate = to_model_rate(back, 15.0)
    assert out.num_frames == 30 and rate.times is None  # by frame order, not sorted into a scramble
    np.testing.assert_array_equal(out.data, back.data[::2])
