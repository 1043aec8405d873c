"""Export skelzoo models to ONNX and TorchScript, with a numerical check against PyTorch.

Input ``(N, C, T, V, M)`` float32; the exported graphs keep N (batch) and T (frames) dynamic (C, V, M
are fixed by the model). Backbones return ``(N, num_classes)`` (or pooled features ``(N, D)``),
localizers frame logits ``(N, T, K)``.

What an exported graph does *not* do: the input checks of ``model.check_input`` (shape, NaN/inf) run in
Python and are left out of the graph; ONNX Runtime still rejects wrong ranks and wrong fixed dims.

Every export is verified by default: the exported file is run on a batch with a *different* N and T
than the export example and compared with the PyTorch model (max abs difference, relative to the
output scale, must be at most ``atol``). A graph that silently baked the example length in fails here
with :class:`ExportError` instead of producing wrong outputs later.
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Any, Iterator, Literal

import torch
from torch import nn

from .errors import SkelzooError

__all__ = ["export_onnx", "export_torchscript", "example_input", "ExportError", "DEFAULT_OPSET"]

_log = logging.getLogger("skelzoo")
DEFAULT_OPSET = 18


class ExportError(SkelzooError, RuntimeError):
    """A model cannot be exported in the requested format, or the export does not reproduce PyTorch."""


# ---------------------------------------------------------------------------------------------- helpers
def _spec(model: nn.Module) -> tuple[int, int, int, int]:
    """``(C, V, M, min_frames)`` the model expects."""
    try:
        c, v = int(model.in_channels), int(model.num_joints)
    except AttributeError:
        raise ExportError(f"{type(model).__name__} is not a skelzoo skeleton model (needs in_channels and "
                          "num_joints); build it with skelzoo.load_model") from None
    m = int(getattr(model, "num_person", None) or 1)
    return c, v, m, int(getattr(model, "min_frames", 1) or 1)


def example_input(model: nn.Module, frames: int = 64, batch: int = 2, *, seed: int = 0) -> torch.Tensor:
    """A random ``(batch, C, frames, V, M)`` float32 input for ``model`` (on the model's device)."""
    c, v, m, tmin = _spec(model)
    if frames < tmin:
        raise ExportError(f"frames={frames} is shorter than the model's minimum of {tmin} frames")
    p = next(model.parameters(), None)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, c, frames, v, m, generator=g)
    return x.to(p.device) if p is not None else x


@contextlib.contextmanager
def _graph_mode(model: nn.Module) -> Iterator[None]:
    """Inside: eval mode, and ``check_input`` (Python-side shape / NaN checks, data-dependent) skipped."""
    patched = [m for m in model.modules() if callable(getattr(m, "check_input", None))]
    was_training = model.training
    for m in patched:
        m.check_input = _no_check  # instance attribute shadows the method
    model.eval()
    try:
        yield
    finally:
        for m in patched:
            m.__dict__.pop("check_input", None)
        model.train(was_training)


def _no_check(x: torch.Tensor) -> None:
    return None


def _verify_frames(frames: int, tmin: int) -> int:
    """A length different from ``frames`` (and not a multiple-of-8 twin of it) for the check."""
    t = frames + 13 if frames < 96 else frames - 29
    return max(t, tmin)


def _compare(ref: torch.Tensor, got: torch.Tensor, atol: float, what: str) -> dict[str, float]:
    if tuple(ref.shape) != tuple(got.shape):
        raise ExportError(f"{what}: output shape {tuple(got.shape)} differs from PyTorch {tuple(ref.shape)}; "
                          "the exported graph fixed an input length (export with dynamic=False and the "
                          "length you will use, or file an issue)")
    err = float((ref.float() - got.float()).abs().max())
    scale = max(1.0, float(ref.abs().max()))
    if not err <= atol * scale:
        raise ExportError(f"{what}: max abs difference {err:.3g} exceeds {atol:g} x output scale {scale:.3g}")
    return {"max_abs_diff": err, "output_scale": scale}


def _quiet() -> contextlib.ExitStack:
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    return stack


# ---------------------------------------------------------------------------------------------- ONNX
def export_onnx(model: nn.Module, path: str | os.PathLike[str], *, frames: int = 64, dynamic: bool = True,
                opset: int = DEFAULT_OPSET, batch: int = 2,
                exporter: Literal["auto", "dynamo", "torchscript"] = "auto",
                verify: bool = True, atol: float = 1e-4) -> dict[str, Any]:
    """Export ``model`` to an ONNX file (weights embedded, one file).

    Args:
        model: a skelzoo backbone or localizer (exported in eval mode; its mode is restored).
        path: output ``.onnx`` file.
        frames: T of the example input used for export (and the fixed T when ``dynamic=False``).
        dynamic: keep batch (input dim 0) and time (dim 2) dynamic; the output's batch / time follow.
        opset: ONNX opset (default 18).
        batch: N of the example input (2: a batch of 1 can get specialised).
        exporter: ``"dynamo"`` (``torch.export``-based, the supported path), ``"torchscript"`` (the
            legacy tracer) or ``"auto"`` (dynamo, then the legacy tracer if dynamo fails).
        verify: run the file with ONNX Runtime on another N and T (the same T when not dynamic) and
            compare with PyTorch (needs ``onnxruntime``: ``pip install skelzoo[onnx]``).
        atol: tolerance of the check, relative to ``max(1, max |output|)``.

    Returns:
        ``{"format", "path", "exporter", "opset", "dynamic_axes", "inputs", "outputs", "verified", ...}``.

    Raises:
        ExportError: the model cannot be exported, or the export does not match PyTorch (the file is
            removed).
        ImportError: ``onnx`` / ``onnxscript`` / ``onnxruntime`` missing (message says what to install).
    """
    if exporter not in ("auto", "dynamo", "torchscript"):
        raise ValueError(f"exporter must be 'auto', 'dynamo' or 'torchscript', got {exporter!r}")
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'skelzoo[onnx]'") from None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _, _, _, tmin = _spec(model)
    x = example_input(model, frames, batch)
    tries = ["dynamo", "torchscript"] if exporter == "auto" else [exporter]
    errors: list[str] = []
    used = None
    for kind in tries:
        try:
            with _graph_mode(model), _quiet(), torch.no_grad():
                _onnx_export(model, x, path, kind=kind, dynamic=dynamic, opset=opset, tmin=tmin)
            used = kind
            break
        except (KeyboardInterrupt, SystemExit):
            raise
        except ImportError as e:
            raise ImportError(f"ONNX export ({kind}) needs {e.name or e}: pip install 'skelzoo[onnx]' "
                              "(onnx, onnxscript, onnxruntime)") from None
        except Exception as e:  # noqa: BLE001 - exporter failures come in many types; summarised below
            errors.append(f"{kind} exporter: {type(e).__name__}: {_first_line(e)}")
            _log.info("ONNX %s export of %s failed: %s", kind, type(model).__name__, e)
            path.unlink(missing_ok=True)
    if used is None:
        raise ExportError(f"{_name(model)} cannot be exported to ONNX ({'; '.join(errors)})")
    _inline_external_data(path)
    report: dict[str, Any] = {
        "format": "onnx", "path": str(path), "exporter": used, "opset": opset, "frames": frames,
        "inputs": {"x": ["batch" if dynamic else batch, x.shape[1], "time" if dynamic else frames,
                         x.shape[3], x.shape[4]]},
        "dynamic_axes": {"x": {0: "batch", 2: "time"}} if dynamic else {},
        "size": path.stat().st_size, "verified": False,
    }
    if errors:
        report["fallback_reason"] = errors
    if verify:
        try:
            report.update(_verify_onnx(model, path, frames, batch, dynamic, tmin, atol))
        except ExportError:
            path.unlink(missing_ok=True)
            raise
    return report


def _onnx_export(model: nn.Module, x: torch.Tensor, path: Path, *, kind: str, dynamic: bool, opset: int,
                 tmin: int) -> None:
    if kind == "dynamo":
        shapes = None
        if dynamic:
            dim = torch.export.Dim
            shapes = {"x": {0: dim("batch", min=1), 2: dim("time", min=max(2, tmin))}}
        torch.onnx.export(model, (x,), str(path), dynamo=True, input_names=["x"], output_names=["y"],
                          dynamic_shapes=shapes, opset_version=opset, external_data=False, verbose=False)
    else:
        axes = {"x": {0: "batch", 2: "time"}, "y": {0: "batch"}} if dynamic else None
        if dynamic and getattr(model, "task", None) == "localization":
            axes["y"][1] = "time"
        torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["x"], output_names=["y"],
                          dynamic_axes=axes, opset_version=min(opset, 17), verbose=False)


def _inline_external_data(path: Path) -> None:
    """Make the file self-contained if an exporter wrote weights beside it (``<file>.data``)."""
    side = path.with_name(path.name + ".data")
    if side.exists():
        import onnx

        proto = onnx.load(str(path), load_external_data=True)
        onnx.save(proto, str(path), save_as_external_data=False)
        side.unlink()


def _verify_onnx(model: nn.Module, path: Path, frames: int, batch: int, dynamic: bool, tmin: int,
                 atol: float) -> dict[str, Any]:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError("verifying an ONNX export needs onnxruntime: pip install 'skelzoo[onnx]' "
                          "(or pass verify=False / --no-verify)") from None
    t = _verify_frames(frames, tmin) if dynamic else frames
    n = batch + 1 if dynamic else batch
    x = example_input(model, t, n, seed=1)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ref = model(x.to(next(model.parameters()).device)).cpu()
    finally:
        model.train(was_training)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    try:
        got = sess.run(None, {sess.get_inputs()[0].name: x.cpu().numpy()})[0]
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
        raise ExportError(f"ONNX Runtime cannot run the export of {_name(model)} on input "
                          f"{tuple(x.shape)}: {_first_line(e)}") from None
    res = _compare(ref, torch.from_numpy(got), atol, f"ONNX export of {_name(model)} at N={n}, T={t}")
    return {"verified": True, "verify_input": list(x.shape), **res}


# ---------------------------------------------------------------------------------------------- TorchScript
def export_torchscript(model: nn.Module, path: str | os.PathLike[str], *, frames: int = 64,
                       method: Literal["trace", "script"] = "trace", dynamic: bool = True, batch: int = 2,
                       verify: bool = True, atol: float = 1e-4) -> dict[str, Any]:
    """Save ``model`` as TorchScript (``torch.jit.load``-able, no skelzoo needed to run it).

    Args:
        model: a skelzoo backbone or localizer.
        path: output file (``.pt``).
        frames / batch: shape of the example input used for tracing.
        method: ``"trace"`` (every skelzoo model) or ``"script"`` (fails for most: Python-level
            generality such as ``Sequence`` arguments is not scriptable; the error says so).
        dynamic: verify on another N and T (a trace that baked T in fails the check); with
            ``dynamic=False`` the file is only checked at ``frames``.
        verify / atol: as in :func:`export_onnx`.

    Raises:
        ExportError: scripting / tracing failed, or the result does not match PyTorch (file removed).
    """
    if method not in ("trace", "script"):
        raise ValueError(f"method must be 'trace' or 'script', got {method!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _, _, _, tmin = _spec(model)
    x = example_input(model, frames, batch)
    try:
        with _graph_mode(model), _quiet(), torch.no_grad():
            if method == "trace":
                mod = torch.jit.trace(model, (x,), check_trace=False)
            else:
                mod = torch.jit.script(model)
            mod = torch.jit.freeze(mod.eval()) if method == "trace" else mod
            torch.jit.save(mod, str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # noqa: BLE001 - torch.jit raises many types
        path.unlink(missing_ok=True)
        hint = " (try method='trace')" if method == "script" else ""
        raise ExportError(f"{_name(model)} cannot be exported to TorchScript by {method}{hint}: "
                          f"{type(e).__name__}: {_first_line(e)}") from None
    report: dict[str, Any] = {"format": "torchscript", "path": str(path), "method": method, "frames": frames,
                              "dynamic_axes": {"x": {0: "batch", 2: "time"}} if dynamic else {},
                              "size": path.stat().st_size, "verified": False}
    if verify:
        t = _verify_frames(frames, tmin) if dynamic else frames
        n = batch + 1 if dynamic else batch
        xv = example_input(model, t, n, seed=1)
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                ref = model(xv)
                loaded = torch.jit.load(str(path), map_location=xv.device)
                got = loaded(xv)
            report.update(verified=True, verify_input=list(xv.shape),
                          **_compare(ref, got, atol, f"TorchScript ({method}) export of {_name(model)} "
                                                     f"at N={n}, T={t}"))
        except ExportError:
            path.unlink(missing_ok=True)
            raise
        except RuntimeError as e:
            path.unlink(missing_ok=True)
            raise ExportError(f"TorchScript ({method}) export of {_name(model)} fails on input {tuple(xv.shape)}: "
                              f"{_first_line(e)}") from None
        finally:
            model.train(was_training)
    return report


# ---------------------------------------------------------------------------------------------- misc
def _name(model: nn.Module) -> str:
    cfg = getattr(model, "skelzoo_config", None) or {}
    arch = cfg.get("architecture")
    tag = cfg.get("tag")
    return f"{arch}.{tag}" if arch and tag else (arch or type(model).__name__)


def _first_line(e: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()
    return text.splitlines()[0][:300] if text else type(e).__name__
