"""The golden-v1 recipe of ``../shared/reference/golden/README.md`` (our own code).

Regenerates the deterministic official-format state dict and input of a golden model, so a test can
convert the state dict with skelzoo and compare with the official outputs stored in the JSON.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Callable

import numpy as np
import torch

IMPORTANCE = re.compile(r"(^|\.)(edge_importance\.\d+|gcn\.\d+\.gcn\.PA)$")
GATE_BIAS = re.compile(r"(^|\.)(conv_sa|conv_ta|fc2c)\.bias$")

Row = tuple[str, tuple[int, ...], str, str]


def read_keys(path: Path) -> list[Row]:
    """Rows ``(key, shape, dtype, kind)`` of a key dump TSV, header skipped."""
    rows: list[Row] = []
    for line in Path(path).read_text().splitlines():
        if not line or line.startswith("key\t"):
            continue
        key, shape, dtype, kind = line.split("\t")
        dims = tuple(int(s) for s in shape.strip("()").split(",") if s.strip())
        rows.append((key, dims, dtype, kind))
    return rows


def golden_state_dict(rows: list[Row], official: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """State dict of recipe golden-v1 (one generator per row, seed 1000 + row)."""
    sd: dict[str, torch.Tensor] = {}
    for i, (key, S, _dtype, kind) in enumerate(rows):
        leaf = key.rsplit(".", 1)[-1]
        g = torch.Generator().manual_seed(1000 + i)
        if kind == "buffer":
            if leaf == "num_batches_tracked":
                t = torch.tensor(0, dtype=torch.int64)
            elif leaf == "running_mean":
                t = torch.randn(S, generator=g) * 0.02
            elif leaf == "running_var":
                t = torch.rand(S, generator=g) + 1.0
            else:
                t = official[key]
        elif IMPORTANCE.search(key):
            t = torch.randn(S, generator=g) * 0.1 + 1.0
        elif GATE_BIAS.search(key):
            t = torch.randn(S, generator=g) * 0.1 + (-3.0)
        elif leaf in ("PA", "A", "A_res"):
            t = torch.randn(S, generator=g) * (1.0 / S[-1])
        elif leaf == "weight" and len(S) == 1:
            t = torch.randn(S, generator=g) * 0.1 + 0.75
        elif leaf == "bias":
            t = torch.randn(S, generator=g) * 0.02
        elif len(S) >= 2:
            t = torch.randn(S, generator=g) * (1.0 / math.sqrt(math.prod(S[1:])))
        else:
            t = torch.randn(S, generator=g) * 0.1
        sd[key] = t
    return sd


def golden_input(shape: list[int] | tuple[int, ...]) -> torch.Tensor:
    """The recipe input ``(N, C, T, V, M)``."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(7))


def tensor_sha256(t: torch.Tensor) -> str:
    """SHA-256 of the C-order bytes of a tensor (the golden checksum definition)."""
    return hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()


class Golden:
    """One golden model: its JSON, key rows, regenerated state dict, input and expected outputs."""

    def __init__(self, reference_dir: Path, name: str) -> None:
        self.dir = Path(reference_dir) / "golden"
        self.name = name
        self.spec = json.loads((self.dir / f"{name}.json").read_text())
        keys_file = self.spec["state_dict"]["keys_file"]
        self.rows = read_keys((self.dir / keys_file).resolve())

    def state_dict(self, official: dict[str, torch.Tensor] | Callable[[str], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Regenerate the state dict; ``official`` supplies the rule-4 buffers (checked by checksum)."""
        needed = self.spec["state_dict"].get("official_keys", [])
        values: dict[str, torch.Tensor] = {}
        for key in needed:
            if official is None:
                raise ValueError(f"{self.name}: official value needed for {key}")
            t = official(key) if callable(official) else official[key]
            t = torch.as_tensor(t, dtype=torch.float32).contiguous()
            chk = self.spec["state_dict"]["official_checksums"][key]
            assert list(t.shape) == chk["shape"], (key, t.shape, chk["shape"])
            assert tensor_sha256(t) == chk["sha256"], f"{key}: official graph buffer differs from the golden checksum"
            values[key] = t
        return golden_state_dict(self.rows, values)

    def input(self) -> torch.Tensor:
        return golden_input(self.spec["input"]["shape"])

    def output(self, name: str = "logits") -> np.ndarray:
        out = self.spec["outputs"][name]
        if "values" in out:
            return np.asarray(out["values"], dtype=np.float32)
        return np.load(self.dir / out["file"])
