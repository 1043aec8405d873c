"""ONNX / TorchScript export (skelzoo.export, ``skelzoo export``): exported graphs equal PyTorch.

Every check runs the exported file on a batch size and length *different* from the export example, so a
graph that baked the example T in fails. BatchNorm statistics are calibrated on random skeletons first
so that outputs are O(1) and the absolute 1e-4 tolerance is meaningful (random-init GCNs otherwise emit
logits of ~1e5).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import skelzoo
from skelzoo.export import ExportError, example_input, export_onnx, export_torchscript

ATOL = 1e-4


def calibrated(name: str) -> nn.Module:
    """``load_model(name)`` with BatchNorm running statistics measured on random input (outputs O(1))."""
    torch.manual_seed(0)
    model = skelzoo.load_model(name)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(example_input(model, 40, 4, seed=7))
    return model.eval()


def _ort_run(path: Path, x: torch.Tensor) -> torch.Tensor:
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0])


def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run ``skelzoo ARGV`` in-process (registers export/push if main.COMMANDS does not list them yet)."""
    from skelzoo.cli import main as cli_main

    missing = tuple(c for c in ("export", "push") if c not in cli_main.COMMANDS)
    if missing:
        monkeypatch.setattr(cli_main, "COMMANDS", cli_main.COMMANDS + missing)
    return cli_main.main(argv)


# ---------------------------------------------------------------------------------------------- ONNX
# (name, exporter): the fast legacy tracer for most, torch.export (dynamo) for one small backbone
ONNX_CASES = [
    ("stgcn_ssl", "dynamo"),
    ("stgcn_ssl", "torchscript"),
    ("agcn_loc_ufusion", "torchscript"),   # the paper's localizer
    pytest.param("stgcnpp_simple", "torchscript", marks=pytest.mark.slow),
    pytest.param("ctrgcn", "torchscript", marks=pytest.mark.slow),
    pytest.param("msg3d_ufusion", "auto", marks=pytest.mark.slow),  # legacy tracer cannot (Unfold)
]


@pytest.mark.parametrize("name,exporter", ONNX_CASES)
def test_onnx_matches_pytorch_on_other_length(name: str, exporter: str, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = calibrated(name)
    path = tmp_path / f"{name}.onnx"
    report = export_onnx(model, path, frames=48, exporter=exporter)
    assert report["verified"] and report["exporter"] == exporter
    assert report["dynamic_axes"] == {"x": {0: "batch", 2: "time"}}
    assert not path.with_name(path.name + ".data").exists(), "weights must be inside the .onnx file"
    for n, t in ((1, 37), (3, 80)):  # neither equals the export shape (2, 48)
        x = example_input(model, t, n, seed=t)
        with torch.no_grad():
            ref = model(x)
        got = _ort_run(path, x)
        assert got.shape == ref.shape
        if getattr(model, "task", "") == "localization":
            assert got.shape == (n, t, model.num_classes + 1)
        assert float(ref.abs().max()) < 100  # calibrated: the absolute tolerance means something
        torch.testing.assert_close(got, ref, atol=ATOL, rtol=0)


def test_onnx_static_export_fixes_shape(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    model = calibrated("stgcn_ssl")
    report = export_onnx(model, tmp_path / "s.onnx", frames=32, dynamic=False, exporter="torchscript")
    assert report["dynamic_axes"] == {} and report["inputs"]["x"][2] == 32
    import onnx

    dims = onnx.load(str(tmp_path / "s.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [2, 3, 32, 25, 1 if model.num_person is None else model.num_person]


def test_onnx_unexportable_model_is_a_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("onnx")

    class Svd(nn.Module):  # singular values have no ONNX operator (neither exporter converts them)
        in_channels, num_joints, num_person = 3, 25, 1

        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.linalg.svdvals(x.mean(dim=(2, 4))) * self.w

    with pytest.raises(ExportError, match="cannot be exported to ONNX.*dynamo.*torchscript"):
        export_onnx(Svd(), tmp_path / "bad.onnx", frames=16)
    assert not (tmp_path / "bad.onnx").exists()
    with pytest.raises(ExportError, match="not a skelzoo skeleton model"):
        export_onnx(nn.Linear(2, 2), tmp_path / "lin.onnx")


def test_baked_length_is_caught_by_verification(tmp_path: Path) -> None:
    """A trace that turned T into a constant must not pass: the check runs at another T."""

    class Baked(nn.Module):
        in_channels, num_joints, num_person = 3, 25, 1

        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = int(x.shape[2])  # python int: baked in by tracing
            return x.mean(dim=(1, 3, 4)) * self.w + torch.arange(t, dtype=x.dtype)

    with pytest.raises(ExportError):
        export_torchscript(Baked(), tmp_path / "baked.pt", frames=16)
    assert not (tmp_path / "baked.pt").exists()
    export_torchscript(Baked(), tmp_path / "fixed.pt", frames=16, dynamic=False)  # fine at its own T


# ---------------------------------------------------------------------------------------------- TorchScript
@pytest.mark.parametrize("name", ["stgcn_ssl", "agcn_loc_ufusion"])
def test_torchscript_trace_matches_pytorch(name: str, tmp_path: Path) -> None:
    model = calibrated(name)
    report = export_torchscript(model, tmp_path / "m.pt", frames=48)
    assert report["verified"] and report["method"] == "trace"
    loaded = torch.jit.load(str(tmp_path / "m.pt"))
    x = example_input(model, 29, 3, seed=3)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=ATOL, rtol=0)


def test_torchscript_script_failure_is_an_export_error(tmp_path: Path) -> None:
    model = skelzoo.load_model("agcn_loc_ufusion")
    try:
        export_torchscript(model, tmp_path / "s.pt", method="script", frames=32)
    except ExportError as e:
        assert "script" in str(e) and "trace" in str(e)
    else:  # scripting may become possible; then it must also be verified
        assert (tmp_path / "s.pt").exists()


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_export_torchscript_and_onnx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["export", "stgcn_ssl", "--format", "torchscript", "--out", str(tmp_path / "m.pt"),
                 "--frames", "32"], monkeypatch) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "torchscript" and out["verified"] and out["architecture"] == "stgcn_ssl"
    assert (tmp_path / "m.pt").is_file()
    if pytest.importorskip("onnxruntime"):
        assert _cli(["export", "stgcn_ssl", "--format", "onnx", "--exporter", "torchscript",
                     "--out", str(tmp_path / "m.onnx"), "--frames", "32"], monkeypatch) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["format"] == "onnx" and out["verified"] and out["max_abs_diff"] <= out["output_scale"] * ATOL


@pytest.mark.parametrize("argv,needle", [
    (["export", "stgcn_sll", "--format", "onnx", "--out", "x.onnx"], "stgcn_ssl"),  # close match offered
    (["export", "stgcn_ssl", "--format", "torchscript", "--out", "x.pt", "--frames", "0"], "--frames"),
    (["export", "stgcn_ssl", "--format", "torchscript", "--out", "x.pt", "--opset", "17"], "--opset"),
])
def test_cli_export_bad_input_is_one_line(argv: list[str], needle: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert _cli(argv, monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err


# ---------------------------------------------------------------------------------------------- all models
@pytest.mark.slow
@pytest.mark.parametrize("name", skelzoo.list_models())
def test_every_model_exports(name: str, tmp_path: Path) -> None:
    """Every registered architecture: TorchScript trace, and ONNX (auto: dynamo, then legacy tracer)."""
    model = calibrated(name)
    export_torchscript(model, tmp_path / "m.pt", frames=48)
    if pytest.importorskip("onnxruntime"):
        export_onnx(model, tmp_path / "m.onnx", frames=48)
