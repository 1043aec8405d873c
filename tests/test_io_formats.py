"""Readers and writers on small synthetic files (always run; no real data)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _io_fixtures import BABEL_DOC, bvh_text, kinect_csv_text, pkummd_text, random_ntu, write_bvh

from skelzoo.errors import FormatError
from skelzoo.io import (
    babel_frame_labels,
    detect_format,
    pkummd_frame_labels,
    read_babel,
    read_bvh,
    read_keypoints_json,
    read_kinect_csv,
    read_ntu_skeleton,
    read_numpy,
    read_pkummd,
    read_pkummd_labels,
    read_skeleton,
    write_keypoints_json,
    write_npz,
    write_ntu_skeleton,
)
from skelzoo.io.sequence import SkeletonSequence


# ----------------------------------------------------------------------------- NTU
def test_ntu_roundtrip_keeps_all_values(tmp_path: Path) -> None:
    seq = random_ntu()
    write_ntu_skeleton(seq, tmp_path / "a.skeleton")
    back = read_ntu_skeleton(tmp_path / "a.skeleton")
    assert back.layout == "ntu25" and back.fps == 30
    # person order may change (energy), match by id
    order = [back.meta["body_ids"].index(i) for i in seq.meta["body_ids"]]
    np.testing.assert_array_equal(back.data[:, order], seq.data)
    for key in ("depth_xy", "color_xy", "orientation", "tracking_state", "body_info"):
        np.testing.assert_array_equal(back.meta[key][:, order], seq.meta[key], err_msg=key)
    np.testing.assert_array_equal(back.confidence[:, order], seq.meta["tracking_state"] / 2)
    assert back.meta["bodies_per_frame"].tolist() == [2] * 6


def test_ntu_zero_and_extra_bodies(tmp_path: Path) -> None:
    seq = random_ntu(t=8, m=3)
    seq.data[:, 2] = seq.data[0, 2]  # body 3 does not move: lowest energy
    seq.data[:, 2] *= 0.01
    seq.data[:, 1] *= 3.0  # body 2 moves most
    seq.data[2:4] = 0  # frames 2-3: no body at all
    seq.data[5, 0] = 0  # frame 5: body 1 absent
    write_ntu_skeleton(seq, tmp_path / "b.skeleton")
    text = (tmp_path / "b.skeleton").read_text().splitlines()
    assert text[0] == "8"
    back = read_ntu_skeleton(tmp_path / "b.skeleton")
    assert back.meta["bodies_per_frame"].tolist() == [3, 3, 0, 0, 3, 2, 3, 3]
    ids = seq.meta["body_ids"]
    assert back.meta["body_ids"] == [ids[1], ids[0]]  # highest energy first, static body dropped
    assert back.data.shape == (8, 2, 25, 3)
    assert (back.data[2:4] == 0).all() and (back.data[5, 1] == 0).all()
    np.testing.assert_array_equal(back.data[:, 0], seq.data[:, 1])
    every = read_ntu_skeleton(tmp_path / "b.skeleton", max_bodies=None)
    assert every.num_persons == 3
    ordered = read_ntu_skeleton(tmp_path / "b.skeleton", select="order", max_bodies=2)
    np.testing.assert_array_equal(ordered.data[0, 0], seq.data[0, 0])


def test_ntu_empty_sequence_and_single_body_padding(tmp_path: Path) -> None:
    p = tmp_path / "c.skeleton"
    p.write_text("2\n0\n0\n")
    seq = read_ntu_skeleton(p)
    assert seq.data.shape == (2, 2, 25, 3) and not seq.data.any()
    assert seq.meta["body_ids"] == [None, None]


@pytest.mark.parametrize("mutate, message, line", [
    (lambda s: s[:-1], "truncated", None),
    (lambda s: ["999999999"] + s[1:], "truncated", None),
    (lambda s: s[:1] + ["abc"] + s[2:], "integer", 2),
    (lambda s: s[:3] + ["24"] + s[4:], "25", 4),
    (lambda s: s[:4] + ["1 2 3"] + s[5:], "12 joint values", 5),
    (lambda s: s[:4] + [s[4].replace(s[4].split()[0], "x1", 1)] + s[5:], "non-numeric", 5),
    (lambda s: s[:4] + [s[4].replace(s[4].split()[0], "nan", 1)] + s[5:], "non-finite", 5),
    (lambda s: s + ["7"], "unexpected content", None),
    (lambda s: s[:2] + ["1 2"] + s[3:], "10 values", 3),
])
def test_ntu_errors_name_line(tmp_path: Path, mutate, message: str, line: int | None) -> None:
    p = tmp_path / "x.skeleton"
    write_ntu_skeleton(random_ntu(t=2, m=1), p)
    p.write_text("\n".join(mutate(p.read_text().splitlines())) + "\n")
    with pytest.raises(FormatError, match=message) as info:
        read_ntu_skeleton(p)
    assert str(p) in str(info.value)
    if line is not None:
        assert info.value.line == line


@pytest.mark.parametrize("content", [b"", b"   \n\n", b"\x00\x01\x02", b"\xff\xfe\xfa"])
def test_empty_or_binary_files(tmp_path: Path, content: bytes) -> None:
    for ext, reader in ((".skeleton", read_ntu_skeleton), (".txt", read_pkummd), (".csv", read_kinect_csv),
                        (".bvh", read_bvh), (".json", read_keypoints_json), (".npz", read_numpy)):
        p = tmp_path / f"e{ext}"
        p.write_bytes(content)
        with pytest.raises(FormatError):
            reader(p)


# ----------------------------------------------------------------------------- PKU-MMD
def test_pkummd(tmp_path: Path) -> None:
    p = tmp_path / "A01N01-L.txt"
    p.write_text(pkummd_text(t=4, second=False))
    seq = read_skeleton(p)
    assert seq.data.shape == (4, 2, 25, 3) and not seq.data[:, 1].any()
    assert not seq.meta["second_person"].any()
    p.write_text(pkummd_text(t=4) + "1 2 3\n")
    with pytest.raises(FormatError, match="expected 150") as info:
        read_pkummd(p)
    assert info.value.line == 5


def test_pkummd_labels(tmp_path: Path) -> None:
    p = tmp_path / "labels.txt"
    p.write_text("3,2,4,1\n5,6,7,2,\n\n3, 7, 8, 1\n")
    lab = read_pkummd_labels(p)
    assert lab.tolist() == [[3, 2, 4, 1], [5, 6, 7, 2], [3, 7, 8, 1]]
    assert detect_format(p) == "pkummd_labels"
    assert pkummd_frame_labels(lab, 10).tolist() == [0, 3, 3, 3, 0, 5, 3, 3, 0, 0]
    with pytest.raises(FormatError, match="annotation"):
        read_skeleton(p)
    for bad, line in (("3,2,4\n", 1), ("1,1,1,1\n3,5,4,1\n", 2), ("1,x,2,1\n", 1), ("1,1.5,2,1\n", 1)):
        p.write_text(bad)
        with pytest.raises(FormatError) as info:
            read_pkummd_labels(p)
        assert info.value.line == line


# ----------------------------------------------------------------------------- Kinect CSV
def test_kinect_csv(tmp_path: Path) -> None:
    p = tmp_path / "g.csv"
    p.write_text(kinect_csv_text(t=5))
    seq = read_skeleton(p)
    assert seq.data.shape == (5, 1, 25, 3) and seq.layout == "ntu25"
    assert seq.fps == pytest.approx(30.0, abs=0.01)
    assert set(np.unique(seq.confidence)) <= {0.0, 0.5, 1.0}
    np.testing.assert_array_equal(seq.confidence * 2, seq.meta["tracking_state"])
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:2] + [lines[2].replace(",2,", ",7,", 1) if ",2," in lines[2] else lines[2] + "x"]))
    with pytest.raises(FormatError) as info:
        read_kinect_csv(p)
    assert info.value.line == 3


# ----------------------------------------------------------------------------- BVH
def _rx(a: float) -> np.ndarray:
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = np.cos(np.radians(a)), np.sin(np.radians(a))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def test_bvh_forward_kinematics(tmp_path: Path) -> None:
    frames = [
        [1, 2, 3, 90, 0, 0, 0, 90, 0, 0, 7, 0, 0, 90, 0],  # hand-computed below
        [0, 0, 0, 90, 90, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0],  # root order Z X Y: Rz @ Rx
        [0, 0, 0, 10, 20, 30, 40, 50, 60, 1, 2, 3, 70, 80, 90],
    ]
    seq = read_bvh(write_bvh(tmp_path / "r.bvh", frames), scale=1.0)
    assert seq.layout == "bvh" and seq.meta["joint_names"] == ["Root", "Mid", "Tip", "Tip_End"]
    assert seq.meta["parents"] == [-1, 0, 1, 2] and seq.fps == 30
    p = seq.data[:, 0].astype(np.float64)
    np.testing.assert_allclose(p[0], [[1, 2, 3], [-9, 2, 3], [-9, 2, 10], [-9, 4, 10]], atol=1e-5)
    np.testing.assert_allclose(p[1, 1], [0, 0, 10], atol=1e-5)
    r_root = _rz(10) @ _rx(20) @ _ry(30)
    r_mid = r_root @ _ry(40) @ _rx(50) @ _rz(60)
    mid = r_root @ [0, 10, 0]
    tip = mid + r_mid @ [1, 2, 3]
    end = tip + r_mid @ _rx(70) @ _ry(80) @ _rz(90) @ [0, 0, 2]
    np.testing.assert_allclose(p[2], [[0, 0, 0], mid, tip, end], atol=1e-4)
    cm = read_bvh(tmp_path / "r.bvh", scale=0.01, fps=25)
    np.testing.assert_allclose(cm.data, seq.data * 0.01, rtol=1e-6)
    assert cm.fps == 25 and cm.meta["unit_scale"] == 0.01


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.replace("Frames: 2", "Frames: 1000000000"), "truncated"),
    (lambda s: s.replace("Frames: 2", "Frames: x"), "integer"),
    (lambda s: s.replace("Frame Time: 0.0333333", "Frame Time: -1"), "positive"),
    (lambda s: s.replace("Yrotation Xrotation Zrotation", "Yrotation Xrotation Wrotation"), "unknown channel"),
    (lambda s: s.replace("CHANNELS 3", "CHANNELS 7"), "channel count"),
    (lambda s: s.replace("OFFSET 0 10 0", "OFFSET 0 a 0"), "non-numeric"),
    (lambda s: s.replace("MOTION", "MOTON"), "MOTION"),
    (lambda s: s.replace("  }\n}\nMOTION", "MOTION"), "incomplete"),
    (lambda s: s.rstrip("\n").rsplit(" ", 1)[0] + "\n", "expected 15"),
    (lambda s: s.replace("HIERARCHY", "HIERARCH"), "HIERARCHY"),
])
def test_bvh_errors(tmp_path: Path, edit, message: str) -> None:
    p = tmp_path / "e.bvh"
    p.write_text(edit(bvh_text([[0.0] * 15, [1.0] * 15])))
    with pytest.raises(FormatError, match=message) as info:
        read_bvh(p)
    assert str(p) in str(info.value)


def test_bvh_unit_guess(tmp_path: Path) -> None:
    frames = [[0.0] * 15]
    seq = read_bvh(write_bvh(tmp_path / "g.bvh", frames))  # 17 units tall: CMU-like scale guessed
    assert 0.01 <= seq.meta["unit_scale"] <= 0.06


# ----------------------------------------------------------------------------- numpy
def test_npz_roundtrip_and_npy(tmp_path: Path) -> None:
    seq = random_ntu()
    seq.meta["note"] = "hello"
    seq.meta["bad"] = object()
    write_npz(seq, tmp_path / "s.npz")
    back = read_skeleton(tmp_path / "s.npz")
    np.testing.assert_array_equal(back.data, seq.data)
    np.testing.assert_array_equal(back.meta["orientation"], seq.meta["orientation"])
    assert back.meta["note"] == "hello" and "bad" not in back.meta and back.meta["body_ids"] == seq.meta["body_ids"]
    np.save(tmp_path / "a.npy", seq.data[:, 0])  # (T, V, C)
    assert read_skeleton(tmp_path / "a.npy").data.shape == (6, 1, 25, 3)
    np.save(tmp_path / "b.npy", seq.data.reshape(6, 150))  # NTU rows
    np.testing.assert_array_equal(read_skeleton(tmp_path / "b.npy").data, seq.data)
    np.save(tmp_path / "c.npy", np.zeros((4, 1, 20, 3)))
    assert read_skeleton(tmp_path / "c.npy").layout == "kinect20"
    assert read_skeleton(tmp_path / "c.npy", layout="ntu25").layout == "ntu25"  # converted
    np.savez(tmp_path / "babel.npz", joint_pos=np.zeros((3, 219)), fps=np.array(120.0))
    jp = read_skeleton(tmp_path / "babel.npz")
    assert jp.layout == "smplh73" and jp.fps == 120 and jp.data.shape == (3, 1, 73, 3)


def test_npy_absurd_header_does_not_allocate(tmp_path: Path) -> None:
    p = tmp_path / "big.npy"
    np.save(p, np.zeros((2, 1, 25, 3), np.float32))
    raw = p.read_bytes().replace(b"'shape': (2, 1, 25, 3)", b"'shape': (10**9, 1, 25)", 1)
    p.write_bytes(raw)
    with pytest.raises(FormatError):
        read_numpy(p)
    hdr = p.read_bytes()
    p.write_bytes(hdr.replace(b"(10**9, 1, 25)", b"(999999999,25,3)"))
    with pytest.raises(FormatError, match="header claims|invalid"):
        read_numpy(p)
    p.write_bytes(b"\x93NUMPY" + b"\x01\x00" + b"\x00")
    with pytest.raises(FormatError):
        read_numpy(p)
    np.save(p, np.array(["a", "b"]))
    with pytest.raises(FormatError):
        read_numpy(p)


# ----------------------------------------------------------------------------- keypoint JSON
def test_keypoints_json(tmp_path: Path) -> None:
    kp_arr = np.arange(51, dtype=float)
    kp_arr[2::3] = np.arange(17) / 16  # scores in [0, 1]
    kp = kp_arr.tolist()
    doc = [[{"keypoints": kp}], {"persons": [{"keypoints": kp}, {"keypoints": np.ones((17, 2)).tolist()}]}, []]
    p = tmp_path / "pose.json"
    p.write_text(json.dumps(doc))
    assert detect_format(p) == "keypoints_json"
    seq = read_skeleton(p)
    assert seq.layout == "coco17" and seq.data.shape == (3, 2, 17, 2)
    np.testing.assert_array_equal(seq.data[0, 0, 1], [3, 4])
    np.testing.assert_allclose(seq.confidence[0, 0, :2], [0, 1 / 16])
    assert seq.confidence[1, 1].min() == 1 and not seq.data[2].any() and not seq.confidence[0, 1].any()
    write_keypoints_json(seq, tmp_path / "out.json")
    back = read_keypoints_json(tmp_path / "out.json")
    np.testing.assert_array_equal(back.data, seq.data)
    tracked = [[{"keypoints": kp, "track_id": 7}], [{"keypoints": kp, "track_id": 9}, {"keypoints": kp, "track_id": 7}]]
    p.write_text(json.dumps({"fps": 25, "frames": tracked}))
    seq = read_keypoints_json(p)
    assert seq.fps == 25 and seq.meta["track_ids"] == [7, 9] and not seq.data[0, 1].any() and seq.data[1, 1].any()
    for bad in ("[[{\"keypoints\": [1, 2]}]]", "{\"frames\": 3}", "[1]", "[[{\"kp\": []}]]", "[\n[\n{,", "[]"):
        p.write_text(bad)
        with pytest.raises(FormatError):
            read_keypoints_json(p)


# ----------------------------------------------------------------------------- BABEL
def test_babel_frame_labels(tmp_path: Path) -> None:
    p = tmp_path / "train.json"
    p.write_text(json.dumps(BABEL_DOC))
    assert detect_format(p) == "babel"
    with pytest.raises(FormatError, match="read_babel"):
        read_skeleton(p)
    anns = read_babel(p)
    a = anns["1"]
    assert a.num_frames() == 60 and a.feat_p == "X/1_poses.npz" and len(a.frame_segments) == 3
    multi, lab = babel_frame_labels(a, {"walk": 0, "stand": 1, "turn": 2}, background=3)
    assert multi.shape == (60, 3)
    assert lab[:15].tolist() == [1] * 15  # stand only
    assert lab[15:30].tolist() == [0] * 15 and multi[15:30].all()  # overlap: walk+turn+stand
    assert lab[30:45].tolist() == [0] * 15 and not multi[30:45, 1].any()
    assert lab[45:].tolist() == [3] * 15  # act_cat null -> background
    multi2, lab2 = babel_frame_labels(anns["2"], ["walk", "stand", "jump"])  # frame_ann null: seq labels
    assert multi2.shape == (30, 3) and multi2[:, 1:].all() and (lab2 == 1).all()
    _, lab3 = babel_frame_labels(anns["2"], ["walk"])
    assert (lab3 == -1).all()
    extra = {"5": {"dur": 1.0, "seq_anns": [{"labels": [{"act_cat": ["walk"]}]}],
                   "frame_anns": [{"labels": [{"act_cat": ["turn"], "start_t": 0, "end_t": 1}]}]}}
    assert babel_frame_labels(read_babel(extra)["5"], ["walk", "turn"])[1].tolist() == [1] * 30
    for bad in ({"1": {"dur": "x", "seq_ann": {"labels": []}}}, {"1": {"dur": 1e12, "seq_ann": {"labels": []}}},
                {"1": {"dur": 1}}, {"1": {"dur": 1, "frame_ann": {"labels": [{"act_cat": ["a"], "start_t": None}]}}},
                {}, {"1": {"dur": 1, "seq_ann": {"labels": [{"act_cat": "walk"}]}}}):
        with pytest.raises(FormatError):
            read_babel(bad)


# ----------------------------------------------------------------------------- detection
def test_detect_format_by_content(tmp_path: Path) -> None:
    write_ntu_skeleton(random_ntu(t=2, m=1), tmp_path / "a.skeleton")
    (tmp_path / "ntu").write_bytes((tmp_path / "a.skeleton").read_bytes())
    (tmp_path / "bvh").write_text(bvh_text([[0.0] * 15]))
    (tmp_path / "csv").write_text(kinect_csv_text(2))
    (tmp_path / "pku").write_text(pkummd_text(2))
    write_npz(random_ntu(t=2), tmp_path / "n.npz")
    (tmp_path / "npz").write_bytes((tmp_path / "n.npz").read_bytes())
    for name, fmt in (("ntu", "ntu"), ("bvh", "bvh"), ("csv", "kinect_csv"), ("pku", "pkummd"), ("npz", "numpy")):
        assert detect_format(tmp_path / name) == fmt
        assert isinstance(read_skeleton(tmp_path / name), SkeletonSequence)
    (tmp_path / "junk").write_text("hello world\n")
    with pytest.raises(FormatError, match="detect"):
        read_skeleton(tmp_path / "junk")
    with pytest.raises(ValueError, match="unknown format"):
        read_skeleton(tmp_path / "ntu", format="c3d")


def test_find_recordings_expands_folders_and_patterns(tmp_path):
    from skelzoo.io import find_recordings

    (tmp_path / "sub").mkdir()
    for name in ("a.bvh", "sub/b.npz", "a.labels.txt", "labels.json", "notes.md"):
        (tmp_path / name).write_text("x")
    got = find_recordings([tmp_path, str(tmp_path / "*.bvh"), tmp_path / "notes.md"])
    assert got == [tmp_path / "a.bvh", tmp_path / "sub" / "b.npz", tmp_path / "notes.md"]
    with pytest.raises(FileNotFoundError, match="no file matches"):
        find_recordings([str(tmp_path / "*.skeleton")])
    with pytest.raises(FileNotFoundError, match="no such file"):
        find_recordings([tmp_path / "missing.bvh"])
