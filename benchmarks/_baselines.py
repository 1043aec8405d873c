"""Plain reference formulation of every backbone, for speed ratios and equality checks.

The baseline runs the SAME model object (so it loads the same state dict by construction) through its
plain, official-structure forward:

- ST-GCN / STGCN++: ``Conv2d(C_in -> K·C_out)`` then ``einsum('nkctv,kvw->nctw')`` per block (the official
  and pyskl code), separate BatchNorms, NCHW tensors;
- 2s-AGCN / AAGCN: the per-subset loop of lshiwjx/2s-AGCN (``conv_a/conv_b/conv_d`` per subset, one
  ``matmul`` per subset, summed);
- CTR-GCN: :meth:`CTRGCUnit.forward_reference` (the official subset-by-subset ``CTRGC`` sum);
- MS-G3D: the official einsum over scales + MLP, Conv3d window collapse, MS-TCN branches one by one.

Use :func:`baseline_mode` as a context manager around the forward.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from skelzoo.blocks.channels_last import plain_paths
from skelzoo.models.ctrgcn import CTRGCUnit

__all__ = ["baseline_mode"]


@contextlib.contextmanager
def baseline_mode() -> Iterator[None]:
    """Plain per-subset forward of every backbone inside the block (fast paths off)."""
    fused = CTRGCUnit.forward
    CTRGCUnit.forward = CTRGCUnit.forward_reference  # type: ignore[method-assign]
    try:
        with plain_paths():
            yield
    finally:
        CTRGCUnit.forward = fused  # type: ignore[method-assign]
