"""skelzoo.runtime.tune_allocator: large freed blocks stay in the process (no fresh zeroed pages per forward).

The effect is checked where it is defined, in a fresh process each (the setting is process-wide): minor page
faults during ten 1×1 convolutions with a 20 MB output (the case measured in the module docstring).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from skelzoo import runtime

GLIBC = runtime._libc() is not None

_CHILD = r"""
import json, resource, sys
import torch
from skelzoo.runtime import tune_allocator, allocator_tuned
applied = tune_allocator() if sys.argv[1] == "tuned" else False
torch.set_num_threads(1)
x, w = torch.randn(16, 64, 64, 25), torch.randn(192, 64, 1, 1)
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
with torch.inference_mode():
    torch.nn.functional.conv2d(x, w)                  # first use: the heap grows once either way
    f0 = faults()
    for _ in range(10):                               # a 1x1 convolution with a 20 MB output (+ oneDNN buffers)
        torch.nn.functional.conv2d(x, w)
print(json.dumps({"faults": faults() - f0, "applied": applied, "tuned": allocator_tuned()}))
"""


def _run(mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", _CHILD, mode], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not GLIBC, reason="mallopt thresholds are glibc's")
def test_tuned_allocator_reuses_large_blocks() -> None:
    default, tuned = _run("default"), _run("tuned")
    assert tuned["applied"] and tuned["tuned"] and not default["tuned"]
    pages = 16 * 192 * 64 * 25 * 4 / 4096              # one output's pages
    # default thresholds: the rounds map fresh zeroed pages again; tuned: freed blocks are reused
    assert default["faults"] > 3 * pages, default
    assert tuned["faults"] < 0.5 * pages, tuned


@pytest.mark.skipif(not GLIBC, reason="mallopt thresholds are glibc's")
def test_untune_and_flags() -> None:
    try:
        assert runtime.tune_allocator() and runtime.allocator_tuned()
        assert runtime.tune_allocator(False) and not runtime.allocator_tuned()
    finally:
        runtime.tune_allocator(False)
    with pytest.raises(ValueError, match="positive"):
        runtime.tune_allocator(keep=0)


def test_without_glibc_nothing_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_libc", lambda: None)
    assert runtime.tune_allocator() is False and runtime.allocator_tuned() is False


@pytest.mark.parametrize("value, expected", [("0", False), ("no", False), ("1", True), (None, True)])
def test_env_switch(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(runtime, "tune_allocator", lambda: calls.append(True) or True)
    if value is None:
        monkeypatch.delenv("SKELZOO_TUNE_MALLOC", raising=False)
    else:
        monkeypatch.setenv("SKELZOO_TUNE_MALLOC", value)
    assert runtime.tune_allocator_from_env() is expected
    assert bool(calls) is expected


def test_cli_tunes_and_import_does_not() -> None:
    code = ("import skelzoo, skelzoo.runtime as r; a = r.allocator_tuned(); "
            "from skelzoo.cli.main import main; main(['list', 'stgcn']); print('TUNED', a, r.allocator_tuned())")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("SKELZOO_TUNE_MALLOC", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    line = [x for x in out.stdout.splitlines() if x.startswith("TUNED")][-1]
    assert line == f"TUNED False {GLIBC}"
    env["SKELZOO_TUNE_MALLOC"] = "0"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert [x for x in out.stdout.splitlines() if x.startswith("TUNED")][-1] == "TUNED False False"


@pytest.mark.parametrize("value,expected", [(None, True), ("", True), (" 0 ", False), ("False", False),
                                            ("no", False), ("OFF", False), ("1", True), ("true", True),
                                            ("Yes", True), ("on", True)])
def test_env_flag(monkeypatch, value, expected):
    """The one parser of the on/off switches (SKELZOO_FAST, SKELZOO_GEMM_AUTOTUNE, SKELZOO_ONEDNN_LINEAR,
    SKELZOO_TUNE_MALLOC)."""
    from skelzoo.runtime import env_flag

    if value is None:
        monkeypatch.delenv("SKELZOO_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("SKELZOO_TEST_FLAG", value)
    assert env_flag("SKELZOO_TEST_FLAG") is expected
    if value in (None, ""):
        assert env_flag("SKELZOO_TEST_FLAG", default=False) is False


def test_env_flag_rejects_a_typo(monkeypatch):
    from skelzoo.runtime import env_flag

    monkeypatch.setenv("SKELZOO_FAST", "fasle")
    with pytest.raises(ValueError, match="SKELZOO_FAST='fasle'"):
        env_flag("SKELZOO_FAST")


def test_env_switches_read_at_import():
    """Each switch turns its path off in a fresh interpreter."""
    code = ("import skelzoo.blocks.channels_last as c, skelzoo.blocks.gemm as g; "
            "print(c.fast_paths_enabled(), g.autotune_enabled(), g.onednn_linear_enabled())")
    env = {**os.environ, "SKELZOO_FAST": "0", "SKELZOO_GEMM_AUTOTUNE": "off", "SKELZOO_ONEDNN_LINEAR": "no"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]
