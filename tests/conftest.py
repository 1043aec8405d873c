"""Shared pytest fixtures: paths to ``../shared`` (reference facts and real data), skipping when absent."""
from __future__ import annotations

import os
from pathlib import Path

# huggingface_hub reads these at import time: keep tests off the network and quiet
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# one intra-op thread, in this process and in the CLI / example subprocesses the tests start: on a busy
# 2-core machine a second OpenMP thread mostly spins (5x the CPU time for the same result)
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKELZOO_SHARED", REPO_ROOT.parent / "shared"))

DEFAULT_THREADS = 1
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


#: skelzoo's bundled default localizer (offline: its weights ship with the package)
DEFAULT_LOCALIZER = "stgcnpp_ufusion.snipclr_bandai_w16"


@pytest.fixture(scope="session")
def default_localizer() -> torch.nn.Module:
    """The bundled default localizer, loaded once per session (eval mode; tests must not modify it)."""
    import skelzoo

    return skelzoo.load_model(DEFAULT_LOCALIZER)


@pytest.fixture(scope="session")
def example_seq():
    """The synthetic example recording (``skelzoo.data.synth.example_sequence()[0]``), built once."""
    from skelzoo.data.synth import example_sequence

    return example_sequence()[0]


@pytest.fixture
def online_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Downloads allowed (offline switches cleared) into a fresh ``SKELZOO_HOME`` under ``tmp_path``."""
    for var in ("SKELZOO_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SKELZOO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
