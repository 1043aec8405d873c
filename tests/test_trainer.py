"""Training loop: configs, a few pretraining / finetuning steps on synthetic data, exact resume."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import skelzoo
from skelzoo.training import FinetuneConfig, PretrainConfig, finetune, load_config, lr_factor, pretrain
from skelzoo.training.trainer import OptimConfig, load_checkpoint

torch.set_num_threads(1)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "configs"
TINY = "{num_person: 1, hidden_channels: 4, hidden_dim: 16}"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from skelzoo.training._data import synthetic_prepared
    return str(synthetic_prepared(tmp_path_factory.mktemp("synth") / "prepared", splits={"train": 6, "test": 2},
                                  seconds=3.0, seed=0))


def _pretrain_cfg(out, data_dir, *extra):
    return load_config(PretrainConfig, None, [
        f"run.output_dir={out}", "run.epochs=3", "run.batch_size=3", "run.progress=false", "run.plot=false",
        "run.max_steps_per_epoch=2", f"data.root={data_dir}", "data.clip_frames=24", "data.view_frames=12",
        "model.backbone=stgcn_ssl", f"model.backbone_args={TINY}", "model.queue_size=8", "model.num_snippets=4",
        "model.mining_epoch=2", "optim.warmup_epochs=2", "optim.warmup_divisor=2", "optim.steps=[2]", *extra])


# ---------------------------------------------------------------------------------------------- configs
def test_config_yaml_overrides_and_errors(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("run:\n  epochs: 7\noptim:\n  steps: [3, 5]\nmodel:\n  backbone: stgcn_ssl\n")
    cfg = load_config(PretrainConfig, p, ["run.batch_size=4", "augment.blur_normalize=false", "model.mining_epoch=null"])
    assert cfg.run.epochs == 7 and cfg.run.batch_size == 4 and cfg.optim.steps == (3, 5)
    assert cfg.augment.blur_normalize is False and cfg.model.mining_epoch is None
    assert cfg.model.snippet_weight == 1.5 and cfg.model.num_snippets == 19 and cfg.model.queue_size == 32768
    with pytest.raises(ValueError, match="did you mean"):
        load_config(PretrainConfig, None, ["run.epoch=3"])
    with pytest.raises(ValueError, match="expected an integer"):
        load_config(PretrainConfig, None, ["run.epochs=abc"])
    with pytest.raises(ValueError, match="expected one of"):
        load_config(FinetuneConfig, None, ["protocol=linaer"])


def test_paper_lr_schedules():
    ft = FinetuneConfig().optim
    assert [lr_factor(e, ft) for e in (0, 9, 10, 29, 30, 35, 39)] == pytest.approx([0.1, 1, 1, 1, 0.1, 0.01, 0.01])
    pt = PretrainConfig().optim
    # epochs counted from 1 in docs/method.md: 0.1·(e+1)/50 for e < 100 -> factor (e+1)/50
    assert lr_factor(0, pt) == pytest.approx(2 / 50) and lr_factor(98, pt) == pytest.approx(100 / 50)
    assert lr_factor(99, pt) == 1.0 and lr_factor(549, pt) == 1.0 and lr_factor(550, pt) == pytest.approx(0.1)
    assert lr_factor(3, OptimConfig()) == 1.0


@pytest.mark.parametrize("name,cls", [
    ("pretrain_bandai.yaml", PretrainConfig), ("babel_snipclr.yaml", PretrainConfig),
    ("finetune_bandai_linear.yaml", FinetuneConfig), ("finetune_bandai_finetune.yaml", FinetuneConfig),
    ("finetune_bandai_semi.yaml", FinetuneConfig), ("ntu_to_pkummd.yaml", FinetuneConfig),
    ("ablation/pretrain.yaml", PretrainConfig), ("ablation/finetune.yaml", FinetuneConfig)])
def test_example_configs_load(name, cls):
    cfg = load_config(cls, EXAMPLES / name)
    assert cfg.run.output_dir


# ---------------------------------------------------------------------------------------------- pretrain
@pytest.mark.slow  # nightly: a long end-to-end run
def test_pretrain_resume_equals_uninterrupted(tmp_path, data_dir):
    full = pretrain(_pretrain_cfg(tmp_path / "full", data_dir))
    assert full["epochs_done"] == 3 and all(torch.isfinite(torch.tensor(h["train/loss"])) for h in full["history"])
    part = pretrain(_pretrain_cfg(tmp_path / "part", data_dir, "run.stop_after_epochs=1"))
    assert part["epochs_done"] == 1
    resumed = pretrain(_pretrain_cfg(tmp_path / "part", data_dir), resume=True)
    assert resumed["resumed"] and resumed["epochs_done"] == 3
    a = load_checkpoint(tmp_path / "full" / "last.pt")
    b = load_checkpoint(tmp_path / "part" / "last.pt")
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        assert torch.allclose(a["model"][k].float(), b["model"][k].float(), atol=1e-6, rtol=0), k
    la = [h["train/loss"] for h in json.loads(a["history"])]
    lb = [h["train/loss"] for h in json.loads(b["history"])]
    assert la == pytest.approx(lb, abs=1e-6)
    # outputs: config, JSONL log, checkpoint, encoder folder loadable by the zoo
    out = tmp_path / "full"
    assert json.loads((out / "config.json").read_text())["model"]["backbone"] == "stgcn_ssl"
    assert len((out / "log.jsonl").read_text().splitlines()) == 3
    enc = skelzoo.load_model(f"local-dir:{out / 'encoder'}")
    # the export records the normalisation the training data carries, so inference applies it too
    from skelzoo.data.prepare import PreparedDataset
    assert enc.preprocess == PreparedDataset(data_dir).preprocess == "ntu"
    for k, v in enc.state_dict().items():
        assert torch.equal(v, a["model"]["encoder_q.backbone." + k]), k


# ---------------------------------------------------------------------------------------------- finetune
def _ft_cfg(out, data_dir, *extra):
    return load_config(FinetuneConfig, None, [
        f"run.output_dir={out}", "run.epochs=1", "run.batch_size=2", "run.progress=false", "run.plot=false",
        "run.max_steps_per_epoch=2", f"data.root={data_dir}", "data.max_frames=48", "data.eval_max_frames=64",
        "model.arch=stgcn_ssl_ufusion", f"model.model_args={{backbone_args: {TINY}, neck_channels: 16}}",
        "optim.warmup_epochs=0", "optim.lr=0.001", *extra])


def test_finetune_linear_from_pretrained_and_export(tmp_path, data_dir):
    pt = pretrain(_pretrain_cfg(tmp_path / "pt", data_dir, "run.epochs=1"))
    enc = load_checkpoint(tmp_path / "pt" / "last.pt")["model"]
    res = finetune(_ft_cfg(tmp_path / "lin", data_dir, "protocol=linear", f"model.pretrained={pt['output_dir']}"))
    assert "map_clean_avg" in res["last"] and "map_line_avg" in res["last"] and "F1@50" in res["last"]
    model = skelzoo.load_model(f"local-dir:{res['model']}")
    assert model.num_classes == 5
    from skelzoo.data.prepare import PreparedDataset
    assert model.preprocess == PreparedDataset(data_dir).preprocess == "ntu"
    for k, v in model.backbone.state_dict().items():  # frozen encoder = the pretrained one (BN stats too)
        assert torch.equal(v, enc["encoder_q.backbone." + k]), k
    assert Path(res["best_model"], "model.safetensors").is_file()
    # head-only variant trains the frame head only
    head = finetune(_ft_cfg(tmp_path / "head", data_dir, "protocol=linear", "head_only=true",
                            "eval.enabled=false", f"model.pretrained={tmp_path / 'pt' / 'encoder'}"))
    assert head["trainable_params"] == 16 * 6 + 6


def test_finetune_semi_uses_label_fraction(tmp_path, data_dir):
    res = finetune(_ft_cfg(tmp_path / "semi", data_dir, "protocol=semi", "label_fraction=0.5", "eval.enabled=false"))
    assert res["num_train_sequences"] == 3 and "best_model" not in res


def test_cli_registers_both_commands(capsys, tmp_path):
    import argparse

    from skelzoo.cli import train

    parser = argparse.ArgumentParser(prog="skelzoo")
    train.register(parser.add_subparsers(dest="command"))
    cfg = tmp_path / "ft.json"
    cfg.write_text(json.dumps({"protocol": "semi", "run": {"epochs": 2}}))
    args = parser.parse_args(["finetune", "--config", str(cfg), "--set", "optim.lr=0.001", "--print-config"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["protocol"] == "semi" and out["run"]["epochs"] == 2 and out["optim"]["lr"] == 0.001
    args = parser.parse_args(["pretrain", "--output-dir", "x", "--print-config"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["run"]["output_dir"] == "x"


def test_pretrain_second_recipe_pooled_data_knn_selection_and_body_size(tmp_path, data_dir):
    """Batch negatives, cosine matching, two pooled roots, body-size normalisation and the validation kNN probe:
    ``best.pt`` / ``encoder_best`` follow the probe, and the encoders record ``ntu_bodysize``."""
    res = pretrain(_pretrain_cfg(
        tmp_path / "v2", data_dir, "run.epochs=2", "run.eval_every=1", f"data.root=[{data_dir}, {data_dir}]",
        "data.body_size=true", "model.negatives=batch", "model.snippet_negatives=batch", "model.snippet_match=cosine",
        "augment.scale_range=[0.8, 1.25]", "eval.enabled=true", f"eval.root={data_dir}", "eval.bank_split=train",
        "eval.query_split=test", "eval.frames=24", "eval.k=3"))
    assert res["num_sequences"] == 12 and res["epochs_done"] == 2
    hist = [json.loads(line) for line in (tmp_path / "v2" / "log.jsonl").read_text().splitlines()]
    knn = [h["eval/knn_top1"] for h in hist if "eval/knn_top1" in h]
    assert len(knn) == 2 and all(0.0 <= v <= 1.0 for v in knn)
    assert res["best_epoch"] == 1 + int(np.argmax(knn))
    best = skelzoo.load_model(f"local-dir:{res['encoder_best']}")
    last = skelzoo.load_model(f"local-dir:{res['encoder']}")
    assert best.preprocess == last.preprocess == "ntu_bodysize"
    state = load_checkpoint(tmp_path / "v2" / "best.pt")["model"]
    for k, v in best.state_dict().items():
        assert torch.equal(v, state["encoder_q.backbone." + k]), k
