"""Shared pytest fixtures: paths to ``../shared`` (reference facts and real data), skipping when absent."""
from __future__ import annotations

import os
from pathlib import Path

# huggingface_hub reads these at import time: keep tests off the network and quiet
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKELZOO_SHARED", REPO_ROOT.parent / "shared"))

DEFAULT_THREADS = max(1, min(2, os.cpu_count() or 1))
torch.set_num_threads(DEFAULT_THREADS)


@pytest.fixture(autouse=True)
def _torch_threads(request):
    """Every test starts with ``DEFAULT_THREADS`` torch threads, or ``n`` under ``@pytest.mark.threads(n)``,
    and whatever a test sets is undone after it."""
    mark = request.node.get_closest_marker("threads")
    torch.set_num_threads(int(mark.args[0]) if mark else DEFAULT_THREADS)
    yield
    torch.set_num_threads(DEFAULT_THREADS)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available (fresh clone without ../shared)")
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference`` (facts: key dumps, golden outputs); skips when absent."""
    return _need(SHARED / "reference")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``../shared/data`` (real skeleton data, never committed); skips when absent."""
    return _need(SHARED / "data")
