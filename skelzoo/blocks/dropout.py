"""Dropout with ``nn.Dropout``'s exact masks, drawn about 4x faster on CPU.

PyTorch's CPU dropout draws its mask with ``Tensor.bernoulli_(1 - p)``, a serial per-element loop (in a
pretraining step of ``stgcn_ssl`` it was 10-15 % of the whole step). That kernel keeps element ``i`` iff
the ``i``-th double-precision uniform of the generator is ``< 1 - p``, which is exactly what
``torch.rand(shape, dtype=float64) < 1 - p`` computes (vectorised), consuming the generator identically.
:class:`ExactDropout` therefore returns the same values, the same gradients and leaves the generator in
the same state as ``nn.Dropout``: seeded runs are unchanged. The identity is checked once per process on a
sample (with the generator state restored); if a future PyTorch draws differently, the module falls
back to ``nn.Dropout``'s own forward. Only float32/float64 CPU tensors use the fast draw.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["ExactDropout", "exact_draw_ok"]

_CHECKED: bool | None = None


def exact_draw_ok() -> bool:
    """Whether ``rand(float64) < q`` reproduces ``bernoulli_(q)`` on this PyTorch (checked once, RNG restored)."""
    global _CHECKED
    if _CHECKED is None:
        with torch.random.fork_rng(devices=[]):
            ok = True
            for q in (0.5, 0.3):
                state = torch.random.get_rng_state()
                a = torch.empty(4099).bernoulli_(q)
                after_a = torch.rand(2)
                torch.random.set_rng_state(state)
                b = (torch.rand(4099, dtype=torch.float64) < q).to(torch.float32)
                after_b = torch.rand(2)
                ok = ok and torch.equal(a, b) and torch.equal(after_a, after_b)
        _CHECKED = ok
    return _CHECKED


class ExactDropout(nn.Dropout):
    """``nn.Dropout`` (same state dict, same masks and generator use) with a vectorised CPU mask draw.

    Input: any shape; output: the same shape. In eval, or for ``p = 0`` / ``p = 1``, non-CPU or
    non-float32/64 tensors, it is ``nn.Dropout.forward``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (not self.training or not 0.0 < self.p < 1.0 or x.device.type != "cpu"
                or x.dtype not in (torch.float32, torch.float64) or not exact_draw_ok()):
            return super().forward(x)
        q = 1.0 - self.p
        noise = (torch.rand(x.shape, dtype=torch.float64) < q).to(x.dtype).div_(q)  # ATen: bernoulli_, div_
        return x.mul_(noise) if self.inplace else x * noise
