"""``skelzoo push``: folder validation, ``--dry-run`` JSON, and a push whose uploaded files are served by
the local Hub endpoint (tests/hub_server.py) and loaded back with ``load_model("hf-hub:...")``.

tests/hub_server.py has no upload routes, so ``huggingface_hub.HfApi`` is replaced by a recorder whose
``upload_folder`` copies exactly the files it was asked to upload (``allow_patterns``) into the server's
repo; loading them back over HTTP then checks what really got uploaded.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
from hub_server import HubServer

import skelzoo
from skelzoo.export import example_input

pytestmark = pytest.mark.hub
ARCH = "stgcn_ssl"


def _cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    from skelzoo.cli import main as cli_main

    missing = tuple(c for c in ("export", "push") if c not in cli_main.COMMANDS)
    if missing:
        monkeypatch.setattr(cli_main, "COMMANDS", cli_main.COMMANDS + missing)
    return cli_main.main(argv)


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, torch.nn.Module]:
    torch.manual_seed(3)
    model = skelzoo.load_model(ARCH, num_classes=5)
    folder = skelzoo.save_pretrained(model, tmp_path / "model", metrics={"top1": 50.0})
    (folder / ".cache").mkdir()
    (folder / ".cache" / "junk").write_text("not uploaded")
    return folder, model


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("this must not touch the Hub")

    monkeypatch.setattr("huggingface_hub.HfApi", refuse)


def test_dry_run_prints_what_would_be_uploaded(saved, no_network, monkeypatch, capsys) -> None:
    folder, _ = saved
    assert _cli(["push", str(folder), "--repo-id", "org/stgcn-test", "--dry-run", "--revision", "v1"],
                monkeypatch) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["dry_run"] is True and out["repo_id"] == "org/stgcn-test" and out["revision"] == "v1"
    files = {f["path"]: f["size"] for f in out["files"]}
    assert files == {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file()}  # .cache skipped
    assert set(files) == {"config.json", "model.safetensors", "README.md"}
    sha = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert out["sha256"]["model.safetensors"] == sha
    assert out["total_size"] == sum(files.values())
    assert out["architecture"] == ARCH and out["load_with"] == 'skelzoo.load_model("hf-hub:org/stgcn-test@v1")'


@pytest.mark.parametrize("breakage,needle", [
    ("no_readme", "README.md is missing"),
    ("bad_config", "config.json is not valid JSON"),
    ("no_arch", "has no 'architecture'"),
    ("bad_weights", "model.safetensors"),
    ("wrong_weights", "do not fit"),
    ("no_front_matter", "no YAML front matter"),
    ("bad_front_matter", "README.md"),
    ("not_skelzoo", "library_name: skelzoo"),
    ("missing_dir", "no such folder"),
])
def test_invalid_folder_is_a_one_line_error(saved, no_network, monkeypatch, capsys, breakage: str,
                                            needle: str) -> None:
    folder, _ = saved
    card = (folder / "README.md").read_text()
    if breakage == "no_readme":
        (folder / "README.md").unlink()
    elif breakage == "bad_config":
        (folder / "config.json").write_text("{not json")
    elif breakage == "no_arch":
        (folder / "config.json").write_text(json.dumps({"model_args": {}}))
    elif breakage == "bad_weights":
        (folder / "model.safetensors").write_bytes(b"\x00" * 32)
    elif breakage == "wrong_weights":
        from skelzoo.hub.safe_load import save_safetensors
        save_safetensors({"w": torch.ones(2)}, folder / "model.safetensors")
    elif breakage == "no_front_matter":
        (folder / "README.md").write_text("# just a title\n")
    elif breakage == "bad_front_matter":
        (folder / "README.md").write_text(card.replace("library_name: skelzoo", "library_name: [skelzoo", 1))
    elif breakage == "not_skelzoo":
        (folder / "README.md").write_text(card.replace("library_name: skelzoo", "library_name: timm", 1))
    elif breakage == "missing_dir":
        folder = folder.parent / "nope"
    assert _cli(["push", str(folder), "--repo-id", "org/x", "--dry-run"], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("skelzoo push: error:"), err
    assert needle in err, err


def test_bad_repo_id_is_refused(saved, no_network, monkeypatch, capsys) -> None:
    folder, _ = saved
    assert _cli(["push", str(folder), "--repo-id", "no-slash", "--dry-run"], monkeypatch) == 2
    assert "org/name" in capsys.readouterr().err


def _recording_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[HubServer, list[tuple[str, dict]]]:
    """A started local Hub whose repos receive what a recording ``HfApi`` is asked to upload; online env."""
    import huggingface_hub.constants as hfc

    monkeypatch.setattr(hfc, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(hfc, "HF_HUB_OFFLINE", False)
    for var in ("HF_HUB_OFFLINE", "SKELZOO_OFFLINE", "HF_TOKEN", "HF_HOME"):
        monkeypatch.delenv(var, raising=False)
    server = HubServer(repos={}).start()
    calls: list[tuple[str, dict]] = []

    class RecordingApi:
        def __init__(self, **kwargs: object) -> None:
            calls.append(("init", dict(kwargs)))

        def create_repo(self, repo_id: str, **kwargs: object) -> None:
            calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
            server.repos.setdefault(repo_id, {"main": {}})

        def create_branch(self, repo_id: str, *, branch: str, **kwargs: object) -> None:
            calls.append(("create_branch", {"repo_id": repo_id, "branch": branch}))
            server.repos[repo_id].setdefault(branch, dict(server.repos[repo_id]["main"]))

        def upload_folder(self, *, repo_id: str, folder_path: str, revision: str | None = None,
                          allow_patterns: list[str] | None = None, **kwargs: object) -> None:
            calls.append(("upload_folder", {"repo_id": repo_id, "revision": revision,
                                            "allow_patterns": list(allow_patterns or []), **kwargs}))
            files = server.repos[repo_id][revision or "main"]
            for rel in allow_patterns or []:  # exactly the listed files, read from the folder now
                files[rel] = (Path(folder_path) / rel).read_bytes()

    monkeypatch.setattr("huggingface_hub.HfApi", RecordingApi)
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return server, calls


def test_push_then_load_back_from_the_hub(saved, monkeypatch, capsys, tmp_path: Path) -> None:
    """Push (HfApi recorded), serve the uploaded bytes from the local Hub, load with hf-hub: and compare."""
    folder, model = saved
    server, calls = _recording_hub(monkeypatch, tmp_path)
    try:
        assert _cli(["push", str(folder), "--repo-id", "skelzoo-test/stgcn-ssl", "--token", "t0k",
                     "--revision", "v1", "--private"], monkeypatch) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["dry_run"] is False
        kinds = [c[0] for c in calls]
        assert kinds == ["init", "create_repo", "create_branch", "upload_folder"]
        assert calls[0][1]["token"] == "t0k" and calls[0][1]["endpoint"] == server.url
        assert calls[1][1]["private"] is True
        uploaded = server.repos["skelzoo-test/stgcn-ssl"]["v1"]
        assert sorted(uploaded) == ["README.md", "config.json", "model.safetensors"]
        assert hashlib.sha256(uploaded["model.safetensors"]).hexdigest() == out["sha256"]["model.safetensors"]
        assert "skelzoo" in uploaded["README.md"].decode()

        back = skelzoo.load_model("hf-hub:skelzoo-test/stgcn-ssl@v1")
        x = example_input(model, 30, 2)
        with torch.no_grad():
            torch.testing.assert_close(back(x), model.eval()(x), atol=0, rtol=0)
        assert back.num_classes == 5
        with pytest.raises(skelzoo.errors.WeightsError):  # nothing went to main's files
            skelzoo.load_model("hf-hub:skelzoo-test/stgcn-ssl")
    finally:
        server.stop()


def test_registered_weights_pinned_on_the_hub(monkeypatch, capsys, tmp_path: Path) -> None:
    """A checkpoint that is not bundled: pushed with ``skelzoo push``, registered with ``hf_hub_id`` + the sha256
    the push printed, loaded by name from the local Hub; a wrong pin is refused and nothing is loaded."""
    import dataclasses

    from skelzoo.models import get_entry

    name = "agcn_loc_ufusion.snipclr_bandai_w16"  # a family localizer of the backbone table
    if name not in skelzoo.list_models(pretrained=True):
        pytest.skip(f"{name} is not registered")
    model = skelzoo.load_model(name, pretrained=True)
    folder = skelzoo.save_pretrained(model, tmp_path / "model")
    server, _ = _recording_hub(monkeypatch, tmp_path)
    entry = get_entry("agcn_loc_ufusion")
    try:
        assert _cli(["push", str(folder), "--repo-id", "skelzoo-test/agcn-family", "--revision", "v1"],
                    monkeypatch) == 0
        sha = json.loads(capsys.readouterr().out)["sha256"]["model.safetensors"]
        bundled = entry.weights["snipclr_bandai_w16"]
        entry.weights["hub_pinned"] = dataclasses.replace(bundled, tag="hub_pinned", file=None, sha256=sha,
                                                          hf_hub_id="skelzoo-test/agcn-family", revision="v1")
        entry.weights["hub_wrong_pin"] = dataclasses.replace(entry.weights["hub_pinned"], tag="hub_wrong_pin",
                                                             sha256="0" * 64)
        back = skelzoo.load_model("agcn_loc_ufusion.hub_pinned")
        x = example_input(model, 64, 1)
        with torch.no_grad():
            torch.testing.assert_close(back(x), model.eval()(x), atol=0, rtol=0)
        assert back.class_names == model.class_names and back.preprocess == "ntu_bodysize"
        with pytest.raises(skelzoo.errors.ChecksumError):
            skelzoo.load_model("agcn_loc_ufusion.hub_wrong_pin")
    finally:
        entry.weights.pop("hub_pinned", None)
        entry.weights.pop("hub_wrong_pin", None)
        server.stop()
