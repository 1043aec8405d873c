"""Registry, load_model name parsing, errors and the CLI/hubconf surfaces."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import skelzoo
from skelzoo.errors import UnknownModelError, WeightsError
from skelzoo.zoo import WeightCfg, register_model

REPO = Path(__file__).resolve().parents[1]


def test_list_models_pattern():
    names = skelzoo.list_models("ctr*")
    assert names and all(n.startswith("ctr") for n in names)
    assert skelzoo.list_models("no-such-*") == []


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match="ctrgcn"):
        skelzoo.load_model("ctrgnc")
    with pytest.raises(UnknownModelError):
        skelzoo.model_info("stgcm")


def test_unknown_tag_and_no_weights():
    with pytest.raises(ValueError):
        skelzoo.load_model("ctrgcn.no_such_tag")


def test_duplicate_registration_raises():
    def ctrgcn():  # same name as a registered architecture
        raise AssertionError
    with pytest.raises(ValueError, match="already registered"):
        register_model(ctrgcn)


def test_weight_cfg_needs_one_location():
    with pytest.raises(ValueError):
        WeightCfg(tag="x")
    with pytest.raises(ValueError):
        WeightCfg(tag="x", file="a.safetensors", url="http://127.0.0.1/a.pth")


def test_local_dir_errors(tmp_path):
    with pytest.raises(WeightsError, match="config.json"):
        skelzoo.load_model(f"local-dir:{tmp_path}")
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(WeightsError):
        skelzoo.load_model(f"local-dir:{tmp_path}")


def test_local_dir_wrong_weights_refused(tmp_path):
    a = skelzoo.load_model("ctrgcn", num_classes=5)
    skelzoo.save_pretrained(a, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    cfg["architecture"] = "stgcn"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match="do not fit"):
        skelzoo.load_model(f"local-dir:{tmp_path}")


def test_config_json_contract(tmp_path):
    m = skelzoo.load_model("stgcn", num_classes=3)
    skelzoo.save_pretrained(m, tmp_path)
    cfg = json.loads((tmp_path / "config.json").read_text())
    for key in ("architecture", "model_args", "layout", "num_classes", "class_names", "tag", "skelzoo_version"):
        assert key in cfg
    assert cfg["num_classes"] == 3 and cfg["architecture"] == "stgcn"
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: skelzoo")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "skelzoo.cli.main", *args], capture_output=True, text=True,
                          timeout=120)


def test_cli_list_info_and_errors():
    r = _cli("list")
    assert r.returncode == 0 and "ctrgcn" in r.stdout and "stgcn" in r.stdout
    r = _cli("info", "ctrgcn")
    assert r.returncode == 0
    info = json.loads(r.stdout)
    assert info["arch"] == "ctrgcn" and info["num_params"] == 1446672
    r = _cli("info", "ctrgnc")
    assert r.returncode == 2 and "ctrgcn" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_cli_convert_roundtrip(tmp_path):
    from skelzoo.convert import to_source_state_dict
    from skelzoo.models import get_converter

    model = skelzoo.load_model("ctrgcn", num_classes=60)
    torch.save(to_source_state_dict(model, get_converter("ctrgcn", "official")), tmp_path / "ctr.pt")
    r = _cli("convert", str(tmp_path / "ctr.pt"), "--arch", "ctrgcn", "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    again = skelzoo.load_model(f"local-dir:{tmp_path / 'out'}")
    x = torch.randn(1, 3, 16, 25, 2)
    with torch.no_grad():
        torch.testing.assert_close(model(x), again(x))
    r = _cli("convert", str(tmp_path / "missing.pt"), "--arch", "ctrgcn", "--out", str(tmp_path / "o2"))
    assert r.returncode == 2 and "missing.pt" in r.stderr


def test_hubconf_entry_points_local():
    import importlib.util

    spec = importlib.util.spec_from_file_location("hubconf_under_test", REPO / "hubconf.py")
    hub = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hub)
    # what torch.hub.list() reports: public callables of hubconf
    entries = [f for f in dir(hub) if callable(getattr(hub, f)) and not f.startswith("_")]
    assert sorted(entries) == skelzoo.list_models()
    m = torch.hub.load(str(REPO), "ctrgcn", source="local", num_classes=60)
    assert m.num_classes == 60
    assert sum(p.numel() for p in m.parameters()) == 1446672
