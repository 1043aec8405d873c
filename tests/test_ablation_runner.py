"""The campaign runner of ``scripts/bandai_ablation.py`` (also used by ``scripts/family_campaign.py``): a run's
summary, resumability, and the lock that keeps two campaign processes on one folder from running a run twice."""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _ablation():
    spec = importlib.util.spec_from_file_location("bandai_ablation_under_test", REPO / "scripts" / "bandai_ablation.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


AB = _ablation()


def _run(tmp_path: Path, name: str = "r") -> object:
    marker = tmp_path / f"{name}.ran"
    code = f"open({str(marker)!r}, 'a').write('x'); print(json.dumps({{'loss': 1.5}}))"
    return AB.Run(name, tmp_path / name, (sys.executable, "-c", "import json; " + code)), marker


def test_a_run_writes_its_summary_and_releases_the_lock(tmp_path):
    run, marker = _run(tmp_path)
    _, _, rc = AB._execute(run)
    assert rc == 0 and marker.read_text() == "x" and run.done
    summary = json.loads((run.out / "summary.json").read_text())
    assert summary["loss"] == 1.5 and summary["wall_s"] > 0
    assert not (run.out / "running.lock").exists()
    assert AB._execute(run)[2] == AB.BUSY and marker.read_text() == "x"  # finished: not run again


def test_a_run_held_by_a_live_process_is_skipped_and_a_stale_lock_taken_over(tmp_path):
    run, marker = _run(tmp_path)
    run.out.mkdir()
    (run.out / "running.lock").write_text(str(os.getppid()))  # a live process that is not this one
    assert AB._execute(run)[2] == AB.BUSY and not marker.exists() and not run.done
    assert AB.run_all([run], jobs=1) == 0  # skipped, not a failure
    dead = 2 ** 22 + 12345  # above Linux's pid_max default: no such process
    while AB._pid_alive(dead):
        dead += 1
    (run.out / "running.lock").write_text(str(dead))
    assert AB._execute(run)[2] == 0 and marker.read_text() == "x" and run.done
    assert not (run.out / "running.lock").exists()


def test_a_failed_run_leaves_no_summary(tmp_path):
    run = AB.Run("bad", tmp_path / "bad", (sys.executable, "-c", "raise SystemExit(3)"))
    assert AB.run_all([run], jobs=1) == 1
    assert not run.done and not (run.out / "running.lock").exists()
