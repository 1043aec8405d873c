"""``loc.localize(skelzoo.read_skeleton(F))`` equals ``skelzoo localize F`` on real recordings of every reader
(NTU, PKU-MMD, Kinect v2 CSV, BVH of Bandai-Namco at 30 fps and CMU at 120 fps, npz) from ``../shared/data``;
skipped when the folder is absent. Nothing from the data is written outside ``tmp_path``."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

import skelzoo

pytestmark = pytest.mark.data
DEFAULT = "stgcn_ssl_ufusion.snipclr_bandai"


def _first_bandai_clip(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive, "r|xz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".bvh"):
                p = dest / Path(member.name).name
                p.write_bytes(tar.extractfile(member).read())
                return p
    raise AssertionError(f"no .bvh in {archive}")


@pytest.mark.slow  # nightly: a long end-to-end run
def test_api_equals_cli_on_real_formats(data_dir: Path, tmp_path: Path, capsys) -> None:
    from skelzoo.cli.main import main
    from skelzoo.io import write_npz

    files = [data_dir / "ntu-rgbd-samples" / "S001C001P001R001A001.skeleton",
             data_dir / "ntu-rgbd-samples" / "S001C003P008R002A058.skeleton",  # two bodies
             data_dir / "pku-mmd-sample" / "A10N08-L.txt",
             data_dir / "kinect-v2-gestures" / "Ges01_wavehand.csv",
             data_dir / "cmu-mocap" / "01_01.bvh",  # 120 fps, resampled to the model's 30
             _first_bandai_clip(data_dir / "bandai-namco-motion-1.tar.xz", tmp_path)]  # 30 fps
    npz = tmp_path / "ntu_as.npz"
    write_npz(skelzoo.read_skeleton(files[0]), npz)
    files.append(npz)
    assert main(["localize", *map(str, files), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    loc = skelzoo.load_model(DEFAULT)
    formats = []
    for f, res in zip(files, doc["results"]):
        seq = skelzoo.read_skeleton(f)
        api = [s.to_dict() for s in loc.localize(seq)[0]]
        assert res["input"] == str(f) and res["segments"] == api, f
        assert res["num_frames"] == seq.num_frames and res["fps"] == seq.fps and res["layout"] == seq.layout
        formats.append(res["format"])
        # the raw tensor (no preprocessing) is a different, warned answer: the API did not skip it
        with pytest.warns(skelzoo.InputWarning):
            loc.localize(seq.to_tensor()[..., :1] if seq.layout == "ntu25" else skelzoo.prepare(seq, loc).x * 100,
                         fps=seq.fps)
    assert formats == ["ntu", "ntu", "pkummd", "kinect_csv", "bvh", "bvh", "numpy"]
    fps = {r["fps"] for r in doc["results"]}
    assert 120.0 in fps and 30.0 in fps
    assert all(r["model_fps"] == 30.0 for r in doc["results"])
