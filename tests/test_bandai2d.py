"""``skelzoo data prepare bandai-untrimmed-2d`` on fake Bandai archives (no real data): layout, splits, held-out
camera azimuths, determinism, the pixel copy, and the datasets reading it."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_bandai import _fake_archives

from skelzoo.data import project2d as p2
from skelzoo.data.datasets import UntrimmedDataset
from skelzoo.data.prepare import PreparedDataset


@pytest.fixture(scope="module")
def fake_data(tmp_path_factory):
    return _fake_archives(tmp_path_factory.mktemp("bandai2d") / "data", per_group=2)


def _in(sectors, deg: float) -> bool:
    return any(lo <= deg < hi or lo <= deg - 360 < hi for lo, hi in sectors)


def test_prepare_2d_cli(fake_data, tmp_path, capsys) -> None:
    from skelzoo.cli.main import main

    out = tmp_path / "bu2d"
    args = ["data", "prepare", "bandai-untrimmed-2d", "--data", str(fake_data), "--out", str(out), "--val-styles",
            "default", "--workers", "1", "--no-progress", "--seed", "3"]
    assert main(args) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["status"] == "written" and set(res["splits"]) == {"train", "test", "val"}
    ds = PreparedDataset(out)
    ds.verify()
    assert ds.layout == "coco17" and ds.preprocess == "coco2d" and ds.index["num_channels"] == 3
    pix = PreparedDataset(out / "pixels")
    sectors = {"train": p2.TRAIN_AZIMUTHS, "val": p2.VAL_AZIMUTHS, "test": p2.TEST_AZIMUTHS}
    for split in ds.splits:
        assert ds.ids(split) == pix.ids(split)
        for i in range(ds.num_sequences(split)):
            meta = ds.meta(split, i)
            assert _in(sectors[split], meta["camera"]["azimuth"]), (split, meta["camera"])
            d, lab = ds.get(split, i)
            px, lab2 = pix.get(split, i)
            assert d.shape[1:] == (1, 17, 3) and np.array_equal(lab, lab2)
            assert ((px[..., 2] > 0) >= (d[..., 2] > 0)).all()       # normalisation only removes points
            cam = meta["camera"]
            ok = px[..., 2] > 0
            assert (px[..., 0][ok] < cam["width"]).all() and (px[..., 1][ok] < cam["height"]).all()
    styles = {s: {ds.meta(s, i)["style"] for i in range(ds.num_sequences(s))} for s in ds.splits}
    assert styles["val"] == {"exhausted"} and not (styles["test"] & styles["train"])
    # deterministic given the seeds; another camera seed gives other cameras on the same sequences
    out2 = tmp_path / "again"
    assert main(["data", "prepare", "bandai-untrimmed-2d", "--data", str(fake_data), "--out", str(out2),
                 "--val-styles", "default", "--workers", "1", "--no-progress", "--seed", "3",
                 "--cache", str(out / "parsed")]) == 0
    capsys.readouterr()
    d2 = PreparedDataset(out2)
    for split in ds.splits:
        assert [s["sha256"] for s in ds.index["splits"][split]["shards"]] == \
               [s["sha256"] for s in d2.index["splits"][split]["shards"]]
    # the training datasets read it as (C=3, T, V=17, M=1)
    x, y = UntrimmedDataset(out, "test")[0]
    assert x.shape[0] == 3 and x.shape[2:] == (17, 1) and y.shape == (x.shape[1],)
