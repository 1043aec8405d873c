"""``torch.compile`` on skelzoo models: compiled outputs equal eager outputs.

The fast test compiles one small model with the ``eager`` backend (dynamo graph capture only; inductor
needs a C++ toolchain and minutes on a small CPU runner). The slow test compiles every registered model
with ``aot_eager`` (graph capture + AOTAutograd). Known graph break: the NaN/inf input check
(``bool(torch.isfinite(x).all())`` in ``check_skeleton_input``) is data-dependent, so
``fullgraph=True`` does not work yet; the compiled model still runs and matches.
"""
from __future__ import annotations

import pytest
import torch

import skelzoo
from skelzoo.export import example_input


def _compare(name: str, backend: str) -> None:
    torch._dynamo.reset()
    torch.manual_seed(0)
    model = skelzoo.load_model(name).eval()
    compiled = torch.compile(model, backend=backend, dynamic=True)
    with torch.no_grad():
        for n, t in ((2, 32), (1, 41)):
            x = example_input(model, t, n, seed=t)
            ref = model(x)
            got = compiled(x)
            scale = max(1.0, float(ref.abs().max()))
            torch.testing.assert_close(got / scale, ref / scale, atol=1e-5, rtol=0)
    torch._dynamo.reset()


@pytest.mark.slow  # nightly: a long end-to-end run
def test_compile_small_model_eager_backend() -> None:
    _compare("stgcn_ssl", "eager")


def test_compiled_model_still_checks_its_input() -> None:
    torch._dynamo.reset()
    model = skelzoo.load_model("stgcn_ssl").eval()
    compiled = torch.compile(model, backend="eager")
    x = example_input(model, 20, 1)
    x[0, 0, 3, 4, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        compiled(x)
    torch._dynamo.reset()


@pytest.mark.slow
@pytest.mark.parametrize("name", skelzoo.list_models())
def test_compile_every_model(name: str) -> None:
    _compare(name, "aot_eager")
