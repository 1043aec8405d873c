"""Fuzz every reader with mutated/truncated versions of small valid files: FormatError or success only."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from _io_fixtures import BABEL_DOC, bvh_text, kinect_csv_text, pkummd_text, random_ntu
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skelzoo.errors import FormatError
from skelzoo.io import (
    read_babel,
    read_bvh,
    read_keypoints_json,
    read_kinect_csv,
    read_mediapipe,
    read_mmpose,
    read_ntu_skeleton,
    read_numpy,
    read_openpose,
    read_pkummd,
    read_pkummd_labels,
    read_skeleton,
    read_yolo_pose,
    write_npz,
    write_ntu_skeleton,
)

_POSE2D = Path(__file__).parent / "data" / "pose2d"

_TOKENS = [b"nan", b"inf", b"-1", b"0", b"999999999", b"1e999", b"abc", b"", b" ", b"\n", b"{", b"}", b",",
           b"End Site", b"JOINT", b"1.5", b"\x00", b"\xff"]


def _seeds() -> dict[str, tuple[bytes, str, Callable[[Path], object]]]:
    """Valid small files per reader: (bytes, extension, reader)."""
    with tempfile.TemporaryDirectory() as d:
        ntu = Path(d) / "a.skeleton"
        write_ntu_skeleton(random_ntu(t=2, m=2), ntu)
        npz = Path(d) / "a.npz"
        write_npz(random_ntu(t=2, m=1), npz)
        npy = Path(d) / "a.npy"
        np.save(npy, np.zeros((2, 1, 25, 3), np.float32))
        files = {"ntu": (ntu.read_bytes(), ".skeleton", read_ntu_skeleton),
                 "npz": (npz.read_bytes(), ".npz", read_numpy), "npy": (npy.read_bytes(), ".npy", read_numpy)}
    kp = [[{"keypoints": [v if i % 3 != 2 else 0.5 for i, v in enumerate(range(51))], "track_id": 1}],
          {"persons": [{"keypoints": [[1, 2, 0.5]] * 17}]}]
    files.update({
        "bvh": (bvh_text([[0.0] * 15, [1.0] * 15]).encode(), ".bvh", read_bvh),
        "kinect": (kinect_csv_text(2).encode(), ".csv", read_kinect_csv),
        "pkummd": (pkummd_text(2).encode(), ".txt", read_pkummd),
        "pku_labels": (b"1,2,3,1\n4,5,9,2\n", ".txt", read_pkummd_labels),
        "keypoints": (json.dumps(kp).encode(), ".json", read_keypoints_json),
        "babel": (json.dumps(BABEL_DOC).encode(), ".json", read_babel),
        # 2-D pose estimators (fixtures of tests/test_io_pose2d.py; one frame file of the folder formats)
        "openpose": ((_POSE2D / "openpose_body25" / "clip_000000000000_keypoints.json").read_bytes(), ".json",
                     read_openpose),
        "mmpose": ((_POSE2D / "mmpose_video.json").read_bytes(), ".json", read_mmpose),
        "mmpose_image": ((_POSE2D / "mmpose_image.json").read_bytes(), ".json", read_mmpose),
        "mediapipe_csv": ((_POSE2D / "mediapipe.csv").read_bytes(), ".csv", read_mediapipe),
        "mediapipe_json": ((_POSE2D / "mediapipe.json").read_bytes(), ".json", read_mediapipe),
        "yolo_pose": ((_POSE2D / "yolo_pose" / "clip_1.txt").read_bytes(), ".txt", read_yolo_pose),
    })
    return files


SEEDS = _seeds()


@st.composite
def _mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["truncate", "delete", "flip", "insert", "token", "dup_line"]))
        n = len(data)
        pos = draw(st.integers(0, max(n - 1, 0)))
        if kind == "truncate":
            del data[pos:]
        elif kind == "delete":
            del data[pos:pos + draw(st.integers(1, 40))]
        elif kind == "flip" and n:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "token":
            end = pos + draw(st.integers(0, 12))
            data[pos:end] = draw(st.sampled_from(_TOKENS))
        elif kind == "dup_line":
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, max(len(lines) - 1, 0)))
            lines.insert(i, lines[i] if lines else b"")
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def _check(reader: Callable[[Path], object], payload: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"f{ext}"
        p.write_bytes(payload)
        for fn in (reader, read_skeleton):
            if fn is read_skeleton and ext == ".json" and reader is read_babel:
                continue
            try:
                fn(p)
            except FormatError as e:
                assert str(p) in str(e) or e.path is not None
            except ValueError as e:  # only "not convertible"-type ValueErrors of read_skeleton may pass
                raise AssertionError(f"{fn.__name__} raised a bare {type(e).__name__}: {e}") from None


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_files_parse(name: str) -> None:
    payload, ext, reader = SEEDS[name]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"f{ext}"
        p.write_bytes(payload)
        reader(p)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_fuzz_reader(name: str) -> None:
    payload, ext, reader = SEEDS[name]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(_mutated(payload))
    def run(mutated: bytes) -> None:
        _check(reader, mutated, ext)

    run()


@settings(max_examples=40, deadline=None, database=None)
@given(st.binary(max_size=300), st.sampled_from([".skeleton", ".bvh", ".csv", ".txt", ".json", ".npz", ".npy", ""]))
def test_fuzz_random_bytes(payload: bytes, ext: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"f{ext}"
        p.write_bytes(payload)
        try:
            read_skeleton(p)
        except FormatError:
            pass


@pytest.mark.parametrize("name", ["openpose_body25", "yolo_pose"])
def test_fuzz_pose2d_folders(name: str) -> None:
    """A folder format with one mutated frame file: FormatError or success only."""
    files = sorted((_POSE2D / name).iterdir())

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.integers(0, len(files) - 1), st.data())
    def run(k: int, data: st.DataObject) -> None:
        mutated = data.draw(_mutated(files[k].read_bytes()))
        with tempfile.TemporaryDirectory() as d:
            for i, f in enumerate(files):
                (Path(d) / f.name).write_bytes(mutated if i == k else f.read_bytes())
            try:
                read_skeleton(d)
            except FormatError:
                pass

    run()
