"""Snippet-contrast weights for every backbone family (issue #17): the campaign's registry entries, their
files and float16 storage, ``--task`` filtering, the reduced widths, and the campaign script's own logic."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import skelzoo
from skelzoo.data.synth import example_sequence
from skelzoo.models import build_model, checkpoint_task, convert_checkpoint, get_converter, get_entry, list_models
from skelzoo.models import snipclr_families as fam_mod
from skelzoo.models._convert import to_source_state_dict

REPO = Path(__file__).resolve().parents[1]


def _campaign():
    spec = importlib.util.spec_from_file_location("family_campaign", REPO / "scripts" / "family_campaign.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["family_campaign"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


CAMPAIGN = _campaign()
MANIFEST = json.loads(fam_mod.MANIFEST.read_text())["checkpoints"] if fam_mod.MANIFEST.is_file() else []
RECORDS = {f"{r['arch']}.{r['tag']}": r for r in MANIFEST}


# ------------------------------------------------------------------------------------------ the registry
def test_every_family_has_a_localizer_and_encoders_ship_only_through_the_gate():
    """``skelzoo list --pretrained`` shows a U-fusion localizer per family; a family's encoder is registered
    exactly when the manifest records that it passed the probe gate (``family_campaign.py gate``)."""
    enc = set(list_models(pretrained=True, task="features"))
    loc = set(list_models(pretrained=True, task="localization"))
    for key, fam in CAMPAIGN.FAMILIES.items():
        assert f"{fam.localizer_arch}.{fam.tag}" in loc, key
        name = f"{fam.arch}.{fam.tag}"
        if not fam.shipped:
            assert f"{fam.localizer_arch}.{fam.tag}" in RECORDS, key
            assert (name in enc) == (name in RECORDS), key
            if name in RECORDS:
                assert RECORDS[name]["probe"]["ships"], key
    assert {"agcn_loc.snipclr_bandai_w16_e40", "aagcn.snipclr_bandai_w16", "stgcnpp.snipclr_bandai_w16"} <= enc
    out = subprocess.run([sys.executable, "-c", "from skelzoo.cli.main import main; main()", "list", "--pretrained",
                          "--task", "localization"], capture_output=True, text=True, check=True).stdout
    assert all(f"{f.localizer_arch}.{f.tag}" in out for f in CAMPAIGN.FAMILIES.values())
    assert "agcn_loc.snipclr_bandai_w16_e40" not in out  # an encoder is not a localizer



@pytest.mark.parametrize("name", sorted(RECORDS)[:3])
def test_model_info_model_args_rebuild_the_architecture(name):
    """``model_info(name)["model_args"]`` rebuilds the checkpoint's exact architecture without its weights:
    the same-architecture random control of ``scripts/probe_encoders.py`` (``random:NAME:INIT:SEED``)."""
    info = skelzoo.model_info(name)
    assert info["model_args"] == RECORDS[name]["model_args"]
    trained = skelzoo.load_model(name).state_dict()
    torch.manual_seed(0)
    fresh = skelzoo.load_model(info["arch"], **info["model_args"]).state_dict()
    assert {k: v.shape for k, v in fresh.items()} == {k: v.shape for k, v in trained.items()}
    assert any(not torch.equal(fresh[k], trained[k].to(fresh[k].dtype)) for k in fresh if fresh[k].is_floating_point())
    assert skelzoo.model_info(info["arch"])["model_args"] == {}

def test_task_filter_and_checkpoint_task():
    assert checkpoint_task("agcn_loc", "snipclr_bandai_w16_e40") == "features"  # num_classes=0 weights
    assert checkpoint_task("stgcn", "pyskl_ntu60_xsub_3d_joint") == "classification"
    assert checkpoint_task("agcn_loc") == "features"                           # builder default: no classifier
    assert checkpoint_task("agcn_loc_ufusion", "bandai_w32") == "localization"
    cls = list_models(pretrained=True, task="classification")
    assert cls and all(skelzoo.model_info(n)["task"] == "classification" for n in cls[:5])
    assert set(list_models(pretrained=True)) == set(cls) | set(list_models(pretrained=True, task="features")) | set(
        list_models(pretrained=True, task="localization"))
    assert "agcn_loc_ufusion" in list_models("agcn*", task="localization")
    with pytest.raises(ValueError, match="task must be one of"):
        list_models(task="detection")


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_family_checkpoint_loads_offline_hash_checked(name, monkeypatch):
    monkeypatch.setenv("SKELZOO_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rec = RECORDS[name]
    info = skelzoo.model_info(name)
    assert info["location"] == f"bundled:{rec['file']}" and info["sha256"] == rec["sha256"]
    assert info["license"] == "CC-BY-NC-4.0" and info["preprocess"] == "ntu_bodysize" and info["fps"] == 30.0
    assert info["task"] == ("features" if rec["kind"] == "encoder" else "localization")
    assert info["num_params"] >= rec["params"] > 0
    from safetensors import safe_open
    with safe_open(str(skelzoo.models._builder.ASSETS / rec["file"]), "pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
    assert ("F16" in dtypes) == (rec["dtype"] == "float16") and ("F32" in dtypes) == (rec["dtype"] == "float32")
    model = skelzoo.load_model(name, pretrained=True)
    assert all(p.dtype == torch.float32 for p in model.parameters()), "float16 storage is float32 in memory"
    seq, _ = example_sequence()
    if rec["kind"] == "localizer":
        segs = model.localize(seq)[0]
        assert segs and {s.name for s in segs} <= set(rec["class_names"])
        assert rec["metrics"]["mAP_clean_avg_0.1-0.5"] > 0
    else:
        x, _ = skelzoo.prepare(seq, model)
        with torch.no_grad():
            f = model.forward_features(x)
        assert f.shape[0] == 1 and x.shape[2] // f.shape[2] in (4, 8) and torch.isfinite(f).all()  # temporal stride


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_float16_storage_was_measured_within_tolerance(name):
    rec = RECORDS[name]
    assert sys.modules["bundle_float16"].within_tolerance(rec["fp16_agreement"]) == (rec["dtype"] == "float16")


def test_float16_file_loads_into_float32_model(tmp_path):
    """What the loader does with a float16 file: the model stays float32, outputs within the rounding."""
    from safetensors.torch import save_file
    torch.manual_seed(0)
    m = build_model("agcn_loc", base_channels=16).eval()
    save_file({k: v.half() for k, v in m.state_dict().items() if v.is_floating_point()}
              | {k: v for k, v in m.state_dict().items() if not v.is_floating_point()}, str(tmp_path / "w.safetensors"))
    m2 = build_model("agcn_loc", base_channels=16).eval()
    skelzoo.models._builder._load_state(m2, skelzoo.models._builder._read_safetensors(tmp_path / "w.safetensors"),
                                        None, "test")
    x = torch.randn(1, 3, 32, 25, 1)
    with torch.no_grad():
        a, b = m.forward_features(x), m2.forward_features(x)
    assert all(p.dtype == torch.float32 for p in m2.parameters())
    assert not torch.equal(a, b) and torch.allclose(a, b, rtol=0, atol=1e-2 * float(a.abs().max()))


def test_manifest_records_become_weight_cfgs(tmp_path):
    rec = {"family": "agcn", "kind": "localizer", "arch": "agcn_loc_ufusion", "tag": "snipclr_test_w16",
           "file": "x.safetensors", "sha256": "0" * 64, "dtype": "float16", "fp16_agreement": {},
           "metrics": {"mAP_clean_avg_0.1-0.5": 50.0}, "model_args": {"backbone_args": {"base_channels": 16}},
           "params": 123, "width": "quarter width (base 16)", "class_names": ["a", "b"], "best_epoch": 4}
    arch, w = fam_mod.family_weights(rec)
    assert arch == "agcn_loc_ufusion" and w.file == "x.safetensors" and w.class_names == ("a", "b")
    assert "float16" in w.source and "epoch 4" in w.source and w.preprocess == "ntu_bodysize"
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"checkpoints": [rec]}))
    try:
        assert fam_mod.register_family_weights(path) == ["agcn_loc_ufusion.snipclr_test_w16"]
        with pytest.raises(ValueError, match="registered twice"):
            fam_mod.register_family_weights(path)
    finally:
        get_entry("agcn_loc_ufusion").weights.pop("snipclr_test_w16", None)
    with pytest.raises(ValueError, match="kind must be"):
        fam_mod.family_weights({**rec, "kind": "other"})


# ------------------------------------------------------------------------------------------ reduced width
def test_aagcn_base_channels_and_converter_roundtrip():
    small = build_model("aagcn", base_channels=16, num_person=1, num_classes=0)
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in build_model("aagcn").parameters()) / 10
    with pytest.raises(ValueError, match="multiple of coff_embedding"):
        build_model("aagcn", base_channels=18)
    torch.manual_seed(0)
    m = build_model("aagcn", base_channels=16, num_classes=5).eval()
    sd = to_source_state_dict(m, get_converter("aagcn", "official"))
    m2 = convert_checkpoint(sd, "aagcn", source="official").eval()
    assert m2.skelzoo_config["model_args"].get("base_channels") == 16
    x = torch.randn(1, 3, 20, 25, 2)
    with torch.no_grad():
        assert torch.equal(m(x), m2(x))


# ------------------------------------------------------------------------------------------ the campaign
def test_campaign_commands_use_the_recipe(tmp_path):
    pre, loc = CAMPAIGN.family_runs(tmp_path, "ctrgcn", 1)
    a, b = " ".join(pre.argv), " ".join(loc.argv)
    assert "pretrain_v2.yaml" in a and "model.backbone=ctrgcn" in a and '"base_channels": 16' in a
    assert "run.seed=1" in a and str(tmp_path / "pretrain_ctrgcn_s1") in a
    assert "localizer_v2.yaml" in b and "model.arch=ctrgcn_ufusion" in b and '"num_person"' not in b
    assert f"model.pretrained={tmp_path / 'pretrain_ctrgcn_s1' / 'encoder_best'}" in b
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "family_campaign.py"), "run", "--dry-run",
                          "--out", str(tmp_path), "--families", "agcn", "msg3d"],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout.splitlines()
    assert len(out) == 4 and "model.backbone=msg3d" in out[2]


def test_campaign_writes_only_between_markers(tmp_path):
    doc = tmp_path / "d.md"
    doc.write_text("a\n<!-- backbone-table -->\nold\n<!-- /backbone-table -->\nb\n")
    assert CAMPAIGN.write_marked(doc, "new\n")
    assert doc.read_text() == "a\n<!-- backbone-table -->\nnew\n<!-- /backbone-table -->\nb\n"
    (tmp_path / "e.md").write_text("nothing")
    assert not CAMPAIGN.write_marked(tmp_path / "e.md", "x")


def test_backbone_table_in_docs_matches_the_registry():
    for doc in (REPO / "docs" / "results.md", REPO / "README.md"):
        text = doc.read_text(encoding="utf-8")
        block = text.split("<!-- backbone-table -->", 1)[1].split("<!-- /backbone-table -->", 1)[0]
        for fam in CAMPAIGN.FAMILIES.values():
            name = f"{fam.localizer_arch}.{fam.tag}"
            row = next(ln for ln in block.splitlines() if f"`{name}`" in ln)
            cells = [c.strip() for c in row.strip("|").split("|")]
            metrics = skelzoo.model_info(name)["metrics"]
            if cells[10] == "0":  # one seed: the registry's numbers
                assert float(cells[4]) == pytest.approx(metrics["mAP_clean_avg_0.1-0.5"], abs=0.005), name
                assert float(cells[7]) == pytest.approx(metrics["F1@50"], abs=0.005), name


# ----------------------------------------------------------------------------------- the shipping gate
def _probe_file(path: Path, split: str, rows: dict[str, tuple[float, float]]) -> Path:
    path.write_text(json.dumps({"split": split, "rows": [
        {"encoder": spec, "knn1": {"accuracy": k / 100}, "linear": {"accuracy": lin / 100}}
        for spec, (k, lin) in rows.items()]}))
    return path


def test_probe_gate_drops_an_encoder_that_does_not_beat_random(tmp_path, monkeypatch):
    """``gate`` keeps an encoder whose seeds beat random ones clearly, drops (manifest entry, bundled file,
    hand-written card) one that does not, keeps every localizer, and refuses test-split probes."""
    from skelzoo.evaluation.probe import beats_random, compare_to_random

    assets, cards = tmp_path / "assets", tmp_path / "cards"
    (cards / "_handwritten").mkdir(parents=True)
    assets.mkdir()
    records = []
    for key in ("aagcn", "ctrgcn", "stgcnpp"):
        fam = CAMPAIGN.FAMILIES[key]
        for kind, arch in (("encoder", fam.arch), ("localizer", fam.localizer_arch)):
            (assets / f"{arch}.{fam.tag}.safetensors").write_bytes(b"x")
            (cards / "_handwritten" / f"{arch}.{fam.tag}.md").write_text("card")
            records.append({"family": key, "kind": kind, "arch": arch, "tag": fam.tag,
                            "file": f"{arch}.{fam.tag}.safetensors"})
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({"checkpoints": records}))
    monkeypatch.setattr(CAMPAIGN, "MANIFEST", manifest)
    monkeypatch.setattr(CAMPAIGN, "ASSETS", assets)
    monkeypatch.setattr(CAMPAIGN, "CARDS", cards)
    out = tmp_path / "runs"
    for key in ("aagcn", "ctrgcn", "stgcnpp"):
        for s in range(3):
            (out / f"pretrain_{key}_s{s}" / "encoder_best").mkdir(parents=True)
    rows = {f"random:aagcn.snipclr_bandai_w16:torch:{s}": (50 + s, 50 - s) for s in range(3)}
    rows |= {f"random:ctrgcn.snipclr_bandai_w16:torch:{s}": (50 + s, 50 - s) for s in range(3)}
    rows["random:aagcn.snipclr_bandai_w16:moco:0"] = (90, 90)  # not a control: another initialisation
    saved = tmp_path / "saved_ctrgcn_encoder"  # a saved encoder folder as the control's architecture
    saved.mkdir()
    (saved / "config.json").write_text(json.dumps({"architecture": "ctrgcn", "model_args": {}}))
    rows[f"random:{saved}:torch:3"] = (53, 47)
    rows |= {str(out / f"pretrain_aagcn_s{s}" / "encoder_best"): (60 + s, 49 + s) for s in range(3)}  # kNN clear
    rows |= {str(out / f"pretrain_ctrgcn_s{s}" / "encoder_best"): (70 + s, 45 + s) for s in range(3)}  # behind on linear
    rows |= {f"random:stgcnpp.snipclr_bandai_w16:torch:{s}": (50 + s, 50 - s) for s in range(3)}
    # the recipe is clear on kNN-1 (mean 64.7 vs 51) but the bundled seed 0 (52) is not above random mean + sd (52)
    rows |= {str(out / f"pretrain_stgcnpp_s{s}" / "encoder_best"): (knn, 50) for s, knn in enumerate((52, 70, 72))}
    probe = _probe_file(tmp_path / "val.json", "val", rows)
    ctr = CAMPAIGN.encoder_probe(out, "ctrgcn", CAMPAIGN.probe_rows([probe]))
    assert f"random:{saved}:torch:3" in ctr["random_encoders"] and len(ctr["random_encoders"]) == 4
    dropped = CAMPAIGN.apply_gate(out, ["aagcn", "ctrgcn", "stgcnpp"], [probe])
    assert dropped == ["ctrgcn.snipclr_bandai_w16", "stgcnpp.snipclr_bandai_w16"]
    kept = json.loads(manifest.read_text())["checkpoints"]
    assert [(r["arch"], r["kind"]) for r in kept] == [("aagcn", "encoder"), ("aagcn_ufusion", "localizer"),
                                                      ("ctrgcn_ufusion", "localizer"), ("stgcnpp_ufusion", "localizer")]
    verdict = kept[0]["probe"]
    assert verdict["ships"] and verdict["knn1"]["clear"] and verdict["knn1"]["random"] == [50.0, 51.0, 52.0]
    assert verdict["bundled_seed0"] == {"knn1": 60.0, "linear": 49.0}
    assert len(verdict["encoders"]) == 3 and len(verdict["random_encoders"]) == 3
    assert not (assets / "ctrgcn.snipclr_bandai_w16.safetensors").exists()
    assert not (cards / "_handwritten" / "ctrgcn.snipclr_bandai_w16.md").exists()
    assert (assets / "ctrgcn_ufusion.snipclr_bandai_w16.safetensors").exists()
    with pytest.raises(SystemExit, match="validation split only"):
        CAMPAIGN.apply_gate(out, ["aagcn"], [_probe_file(tmp_path / "test.json", "test", rows)])
    # the rule itself: one seed has no spread; clear needs margin > sd + sd; behind on any probe fails
    one = {"kNN-1": compare_to_random([80.0], [50.0, 51.0])}
    assert beats_random(one)[0] is False and "fewer than 2 seeds" in beats_random(one)[1]
    close = {"kNN-1": compare_to_random([55.0, 60.0], [50.0, 55.0])}
    assert beats_random(close)[0] is False
    assert beats_random({**close, "linear": compare_to_random([70.0, 71.0], [50.0, 52.0])})[0] is True
    assert beats_random({})[0] is False
    with pytest.raises(ValueError, match="NaN"):
        compare_to_random([float("nan"), 1.0], [1.0, 2.0])
