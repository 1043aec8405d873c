"""Published pyskl / mmaction2 NTU checkpoints registered as ``arch.tag``: metadata and the whole
download -> convert -> cache path, offline, against a local static server (no internet).

The real files are never fetched: each test builds a source-format checkpoint (the mmcv / mmengine
container ``{"meta": ..., "state_dict": {"backbone.*", "cls_head.*"}}``) from a randomly initialised
skelzoo model with the entry's converter, serves it from 127.0.0.1 and points a patched copy of the
registry entry at it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import torch
from hub_server import StaticServer

import skelzoo
from skelzoo.convert import to_source_state_dict, unwrap_checkpoint
from skelzoo.dataset_info import NTU60_CLASSES, NTU120_CLASSES
from skelzoo.errors import CheckpointError, ChecksumError, OfflineError
from skelzoo.hub.cache import hash_prefix_from_name, url_cache_path
from skelzoo.models import (
    WeightCfg,
    build_model,
    get_converter,
    get_entry,
    list_architectures,
    list_converters,
    to_skelzoo_state_dict,
)

pytestmark = pytest.mark.hub

URL_ENTRIES: list[tuple[str, WeightCfg]] = [
    (arch, w) for arch in list_architectures() for w in get_entry(arch).weights.values() if w.url]
IDS = [f"{a}.{w.tag}" for a, w in URL_ENTRIES]
#: the whole path is run for one entry with a published sha256 prefix (mmaction2) and one without (pyskl),
#: for 3-D joints and for 2-D keypoints (coco17)
FULL_PATH = ["stgcnpp.mmaction2_ntu60_xsub_3d_joint", "stgcnpp.pyskl_ntu60_xsub_3d_joint",
             "stgcn.mmaction2_ntu60_xsub_2d_joint", "ctrgcn_pyskl.pyskl_ntu60_xsub_2d_joint"]


# ------------------------------------------------------------------------------------------- helpers
def _randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random parameters and BN statistics, so that a wrong mapping cannot give the same outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)
    return model.eval()


def _container(source: str, state_dict: dict[str, torch.Tensor]) -> dict:
    """The checkpoint container each project publishes (plain data only, as ``weights_only`` requires)."""
    if source == "mmaction2":
        meta = {"mmengine_version": "0.3.2", "epoch": 16, "iter": 23520, "seed": 0,
                "dataset_meta": None, "experiment_name": "skelzoo-test"}
    else:  # pyskl (mmcv 1.x)
        meta = {"mmcv_version": "1.5.0", "epoch": 16, "iter": 23520, "time": "Thu Jan  1 00:00:00 2022",
                "hook_msgs": {"last_ckpt": "work_dirs/j/epoch_16.pth"}}
    return {"meta": meta, "state_dict": dict(state_dict)}


def _source_bytes(arch: str, w: WeightCfg, **override) -> tuple[bytes, torch.nn.Module]:
    model = _randomise(build_model(arch, **{**w.model_args, **override}))
    buf = io.BytesIO()
    torch.save(_container(w.convert_source, to_source_state_dict(model, get_converter(arch, w.convert_source))),
               buf)
    return buf.getvalue(), model


def _visible(folder: Path) -> list[Path]:
    """Files a loader could pick up: not our hidden lock files and first-use hash records."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith((".lock", ".sha256")))


def _x(num_person: int = 2, num_joints: int = 25) -> torch.Tensor:
    return torch.randn(2, 3, 8, num_joints, num_person, generator=torch.Generator().manual_seed(1))


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny forwards: one thread avoids OpenMP oversubscription on shared CI cores (restored after)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("SKELZOO_OFFLINE", "HF_HUB_OFFLINE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SKELZOO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


class Served:
    """A source checkpoint for ``name`` on a local server, the registry entry patched to point at it."""

    def __init__(self, name: str, monkeypatch: pytest.MonkeyPatch, **override) -> None:
        self.arch, self.tag = name.split(".")
        self.orig = get_entry(self.arch).weights[self.tag]
        self.data, self.model = _source_bytes(self.arch, self.orig, **override)
        self.sha = hashlib.sha256(self.data).hexdigest()
        # keep the published file name shape: mmaction2 names end in -<sha256[:8]>.pth, pyskl ones are j.pth
        path = urlsplit(self.orig.url).path.lstrip("/")
        if self.orig.hash_prefix:
            path = path.replace(self.orig.hash_prefix, self.sha[:8])
        self.path = path
        self.server = StaticServer(files={path: self.data}).start()
        self.url = self.server.file_url(path)
        self.monkeypatch = monkeypatch
        self.patch(hash_prefix=self.sha[:8] if self.orig.hash_prefix else None)

    def patch(self, **changes) -> WeightCfg:
        w = dataclasses.replace(self.orig, url=self.url, **changes)
        self.monkeypatch.setitem(get_entry(self.arch).weights, self.tag, w)
        return w

    @property
    def name(self) -> str:
        return f"{self.arch}.{self.tag}"


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, home: Path):
    servers: list[Served] = []

    def make(name: str, **override) -> Served:
        s = Served(name, monkeypatch, **override)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.server.stop()


# ---------------------------------------------------------------------------------- every entry
def test_entries_exist_for_the_expected_pairs() -> None:
    names = {f"{a}.{w.tag}" for a, w in URL_ENTRIES}
    for arch in ("stgcn", "stgcnpp", "aagcn", "ctrgcn_pyskl", "msg3d_pyskl"):
        assert f"{arch}.mmaction2_ntu60_xsub_3d_joint" in names
        assert f"{arch}.pyskl_ntu60_xsub_3d_joint" in names
        assert f"{arch}.pyskl_ntu120_xsub_3d_joint" in names
        for tag in ("mmaction2_ntu60_xsub_2d_joint", "pyskl_ntu60_xsub_2d_joint", "pyskl_ntu120_xsub_2d_joint"):
            assert f"{arch}.{tag}" in names  # NTU 2-D HRNet keypoints (tests/test_ntu2d.py)
        # no tag is marked default (skelzoo's own weights will be); the registry falls back to the first
        # tag listed, which is the hash-checked mmaction2 NTU-60 one
        assert get_entry(arch).default_tag == "mmaction2_ntu60_xsub_3d_joint"
    assert "stgcn.mmaction2_ntu120_xsub_3d_joint" in names and "stgcn.mmaction2_ntu120_xsub_2d_joint" in names
    converters = set(list_converters())
    assert all((a, w.convert_source) in converters for a, w in URL_ENTRIES)


@pytest.mark.parametrize(("arch", "w"), URL_ENTRIES, ids=IDS)
def test_entry_metadata(arch: str, w: WeightCfg) -> None:
    assert w.convert_source in ("pyskl", "mmaction2") and not w.default
    assert w.tag.startswith(w.convert_source + "_")
    if w.convert_source == "mmaction2":  # torch.hub-style name: the sha256 prefix is checked
        assert w.url.startswith("https://download.openmmlab.com/mmaction/v1.0/")
        assert w.hash_prefix == hash_prefix_from_name(w.url) and len(w.hash_prefix) == 8
        assert w.hash_prefix in w.source
    else:  # pyskl publishes plain-http URLs without any hash
        assert w.url.startswith("http://download.openmmlab.com/mmaction/pyskl/ckpt/") and w.url.endswith("/j.pth")
        assert w.hash_prefix is None and w.sha256 is None and "no published hash" in w.source
    n = w.model_args["num_classes"]
    assert w.class_names == {60: NTU60_CLASSES, 120: NTU120_CLASSES}[n]
    assert ("ntu60" in w.tag) == (n == 60) and ("ntu120" in w.tag) == (n == 120)
    two_d = w.tag.endswith("_2d_joint")
    assert two_d or w.tag.endswith("_3d_joint")
    assert w.dataset.startswith(f"NTU RGB+D {n} X-Sub") and ("HRNet 2D" if two_d else "3D joint") in w.dataset
    assert set(w.metrics) == {"top1"} and 80.0 < w.metrics["top1"] < (93.0 if two_d else 90.0)
    assert w.license.startswith("Apache-2.0") and "research use only" in w.license
    assert w.layout == w.model_args["layout"] == ("coco17" if two_d else "ntu25_pyskl")
    assert w.num_person == w.model_args["num_person"] == 2 and w.in_channels == w.model_args["in_channels"] == 3
    from skelzoo.dataset_info import PREPROCESS_DESCRIPTIONS
    assert w.preprocess == ("pyskl_2d" if two_d else "pyskl_ntu3d") and w.paper
    assert ("PreNormalize2D" if two_d else "PreNormalize3D") in PREPROCESS_DESCRIPTIONS[w.preprocess]
    assert "100" in PREPROCESS_DESCRIPTIONS[w.preprocess]


@pytest.mark.parametrize(("arch", "w"), URL_ENTRIES, ids=IDS)
def test_entry_model_args_match_a_source_checkpoint(arch: str, w: WeightCfg) -> None:
    """What the converter infers from a checkpoint of this shape is exactly what the entry declares."""
    model = build_model(arch, **w.model_args)
    conv = get_converter(arch, w.convert_source)
    sd = unwrap_checkpoint(_container(w.convert_source, to_source_state_dict(model, conv)))
    assert any(k.startswith("backbone.") for k in sd) and any(k.startswith("cls_head.") for k in sd)
    inferred = conv.model_args(sd)
    assert conv.arch == arch and inferred, inferred
    assert {k: w.model_args.get(k, "<missing>") for k in inferred} == inferred
    assert to_skelzoo_state_dict(sd, conv, build_model(arch, **w.model_args)).keys() == model.state_dict().keys()


def test_mmaction2_2s_agcn_is_aagcn_without_attention() -> None:
    assert get_entry("aagcn").weights["mmaction2_ntu60_xsub_3d_joint"].model_args["attention"] is False
    assert get_entry("aagcn").weights["pyskl_ntu60_xsub_3d_joint"].model_args["attention"] is True


def test_ntu_class_names() -> None:
    assert len(NTU60_CLASSES) == 60 and len(NTU120_CLASSES) == 120 and len(set(NTU120_CLASSES)) == 120
    assert NTU120_CLASSES[:60] == NTU60_CLASSES
    assert NTU60_CLASSES[0] == "drink water" and NTU60_CLASSES[49] == "punching/slapping other person"
    assert NTU60_CLASSES[59] == "walking apart from each other" and NTU120_CLASSES[60] == "put on headphone"
    assert NTU120_CLASSES[119] == "finger-guessing game (playing rock-paper-scissors)"
    assert all(n == n.strip() and not n.endswith(".") and n.isascii() for n in NTU120_CLASSES)


# ------------------------------------------------------------------------------------ whole path
@pytest.mark.parametrize("name", FULL_PATH)
def test_download_convert_cache_then_offline_reuse(name: str, serve, home: Path, capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    s = serve(name)
    x = _x(num_joints=s.model.num_joints)
    with torch.no_grad():
        expected = s.model(x)

    model = skelzoo.load_model(name)
    err = capsys.readouterr().err
    assert Path(s.path).name in err and "B" in err  # tqdm progress bar on stderr
    assert s.server.count("GET") == 1
    original = url_cache_path(s.url)
    converted = home / "converted" / f"{name}.safetensors"
    assert _visible(home) == sorted([original, converted])
    assert original.read_bytes() == s.data
    assert model.class_names == s.orig.class_names and model.skelzoo_config["tag"] == s.tag
    assert not model.training
    with torch.no_grad():
        out1 = model(x)
    torch.testing.assert_close(out1, expected, rtol=1e-5, atol=1e-5)  # the conversion is exact

    stamp = converted.stat().st_mtime_ns
    s.server.stop()
    s.server.reset_counts()
    again = skelzoo.load_model(name)
    assert capsys.readouterr().err == ""  # no bar, no download
    assert s.server.count() == 0 and converted.stat().st_mtime_ns == stamp  # not converted again
    with torch.no_grad():
        assert torch.equal(again(x), out1)

    monkeypatch.setenv("SKELZOO_OFFLINE", "1")  # a cached conversion also loads offline
    with torch.no_grad():
        assert torch.equal(skelzoo.load_model(name)(x), out1)


@pytest.mark.parametrize("how", ["corrupt_bytes", "wrong_prefix"])
def test_hash_mismatch_caches_nothing(how: str, serve, home: Path) -> None:
    s = serve(FULL_PATH[0])
    if how == "corrupt_bytes":  # the file at the URL changed, the registered prefix is the old one
        s.server.wrong_bytes.add(s.path)
    else:
        s.patch(hash_prefix="0" * 8 if not s.sha.startswith("0") else "f" * 8)
    with pytest.raises(ChecksumError, match="sha256"):
        skelzoo.load_model(s.name)
    assert s.server.count("GET") == 1
    assert _visible(home) == []  # neither the original nor a converted file
    assert not (home / "converted" / f"{s.name}.safetensors").exists()


def test_offline_without_cache_says_where_to_put_the_file(serve, home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    s = serve(FULL_PATH[1])
    monkeypatch.setenv("SKELZOO_OFFLINE", "1")
    with pytest.raises(OfflineError) as info:
        skelzoo.load_model(s.name)
    msg = str(info.value)
    assert s.url in msg and str(url_cache_path(s.url)) in msg
    assert s.server.count() == 0 and _visible(home) == []


def test_checkpoint_not_matching_the_entry(serve, home: Path) -> None:
    s = serve(FULL_PATH[0], num_classes=7)  # right hash, wrong content
    with pytest.raises(CheckpointError) as info:
        skelzoo.load_model(s.name)
    msg = str(info.value)
    assert "num_classes" in msg and "7" in msg and "60" in msg and s.name in msg
    assert not (home / "converted" / f"{s.name}.safetensors").exists()


# -------------------------------------------------------------------------------------------- CLI
def _cli(*args: str, home: Path) -> str:
    env = {**os.environ, "SKELZOO_HOME": str(home), "SKELZOO_OFFLINE": "1"}
    code = "import sys; from skelzoo.cli.main import main; sys.exit(main(sys.argv[1:]))"
    res = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_cli_list_and_info(home: Path) -> None:
    table = _cli("list", "--pretrained", home=home)
    lines = table.splitlines()
    assert lines[0].split()[:2] == ["name", "(*"] and set(lines[1]) <= {"-", " "}  # header, rule
    rows = {line.split()[0]: line for line in lines[2:] if line.strip()}
    for arch, w in URL_ENTRIES:  # the table is for reading (long fields shortened); --json has every field
        row = rows[f"{arch}.{w.tag}"]
        for part in (w.dataset, f"top1={w.metrics['top1']}", w.license[:10], w.layout, "download"):
            assert part in row, (part, row)
    listed = {r["name"]: r for r in json.loads(_cli("list", "--pretrained", "--json", home=home))}
    for arch, w in URL_ENTRIES:
        r = listed[f"{arch}.{w.tag}"]
        assert (r["dataset"], r["license"], r["layout"], r["source"]) == (w.dataset, w.license, w.layout, w.source)
        assert r["weights"].startswith("download") and r["fps"] == 30.0
    assert listed["stgcn_ssl_ufusion.snipclr_bandai"]["weights"] == "bundled"

    info = json.loads(_cli("info", "aagcn.mmaction2_ntu60_xsub_3d_joint", home=home))
    w = get_entry("aagcn").weights["mmaction2_ntu60_xsub_3d_joint"]
    assert info["dataset"] == w.dataset and info["metrics"] == {"top1": 88.26}
    assert info["license"] == w.license and info["layout"] == "ntu25_pyskl" and info["source"] == w.source
    assert info["location"] == w.url and info["num_classes"] == 60 and len(info["class_names"]) == 60
    assert not _visible(home)  # listing and info never download
