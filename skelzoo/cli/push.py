"""``skelzoo push DIR --repo-id ORG/NAME [--revision REV] [--private] [--token TOKEN] [--dry-run]``.

``DIR`` is a folder written by :func:`skelzoo.save_pretrained` (or ``skelzoo convert``). It is validated
before anything is sent: ``config.json`` parses and names a registered architecture, ``model.safetensors``
is a valid safetensors file and loads into that architecture, ``README.md`` exists and its YAML front
matter parses with ``library_name: skelzoo``. Every problem is a one-line error.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .main import print_json

__all__ = ["register", "run", "validate_model_dir"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("push", help="upload a saved model folder to a Hugging Face Hub model repo",
                       description="Validate DIR (config.json, model.safetensors, README.md with front matter) "
                                   "and upload it to the Hub repo ORG/NAME (created if needed). --dry-run "
                                   "prints what would be uploaded (JSON) and sends nothing. Load it back with "
                                   "skelzoo.load_model('hf-hub:ORG/NAME').")
    p.add_argument("directory", type=Path, metavar="DIR", help="folder from skelzoo.save_pretrained")
    p.add_argument("--repo-id", required=True, help="Hub repo, ORG/NAME")
    p.add_argument("--revision", default=None, help="target branch (created if missing; default main)")
    p.add_argument("--private", action="store_true", help="create the repo as private")
    p.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN / stored login)")
    p.add_argument("--commit-message", default=None, help="commit message")
    p.add_argument("--endpoint", default=None, help="Hub URL (default: $HF_ENDPOINT or huggingface.co)")
    p.add_argument("--dry-run", action="store_true", help="print what would be uploaded; upload nothing")
    p.set_defaults(func=run)


def validate_model_dir(directory: Path) -> dict[str, Any]:
    """Check a folder before upload; return ``{architecture, tag, num_params, sha256, front_matter}``.

    Raises:
        FileNotFoundError / NotADirectoryError: the folder or one of its three files is missing.
        ValueError: ``config.json`` or the card's front matter does not parse, or lacks what skelzoo needs.
        CheckpointError / WeightsError: ``model.safetensors`` is invalid or does not fit the architecture.
    """
    from ..hub.cache import sha256_file
    from ..hub.model_card import parse_front_matter
    from ..hub.safe_load import validate_safetensors
    from ..models import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME, load_model

    if not directory.exists():
        raise FileNotFoundError(f"{directory}: no such folder")
    if not directory.is_dir():
        raise NotADirectoryError(f"{directory} is not a folder (push a folder written by skelzoo.save_pretrained)")
    for needed in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME):
        if not (directory / needed).is_file():
            raise FileNotFoundError(f"{directory / needed} is missing (write the folder with skelzoo.save_pretrained)")
    try:
        cfg = json.loads((directory / CONFIG_NAME).read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError(f"{directory / CONFIG_NAME} is not valid JSON: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{directory / CONFIG_NAME} is not valid JSON: {e}") from None
    if not isinstance(cfg, dict) or not cfg.get("architecture"):
        raise ValueError(f"{directory / CONFIG_NAME} has no 'architecture' (not a skelzoo config.json)")
    validate_safetensors(directory / WEIGHTS_NAME)
    model = load_model(f"local-dir:{directory}")  # builds the architecture and loads strictly
    try:
        meta = parse_front_matter((directory / CARD_NAME).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{directory / CARD_NAME}: {' '.join(str(e).split())}") from None
    if meta.get("library_name") != "skelzoo":
        raise ValueError(f"{directory / CARD_NAME}: front matter must say 'library_name: skelzoo' "
                         f"(got {meta.get('library_name')!r}); regenerate it with skelzoo.save_pretrained")
    return {"architecture": cfg["architecture"], "tag": cfg.get("tag"),
            "num_params": sum(p.numel() for p in model.parameters()),
            "sha256": sha256_file(directory / WEIGHTS_NAME),
            "license": meta.get("license"), "front_matter_keys": sorted(meta)}


def run(args: argparse.Namespace) -> int:
    from ..hub.hf import hf_endpoint, list_upload_files, parse_hf_name, push_to_hub

    repo_id, rev_in_name = parse_hf_name(args.repo_id)
    revision = args.revision or rev_in_name
    info = validate_model_dir(args.directory)
    sizes = dict(list_upload_files(args.directory))
    tag = f".{info['tag']}" if info["tag"] else ""
    message = args.commit_message or f"Upload skelzoo {info['architecture']}{tag}"
    names = push_to_hub(args.directory, repo_id, token=args.token, private=args.private, revision=revision,
                        commit_message=message, dry_run=args.dry_run, endpoint=args.endpoint)
    load_name = f"hf-hub:{repo_id}" + (f"@{revision}" if revision else "")
    print_json({
        "dry_run": bool(args.dry_run), "repo_id": repo_id, "revision": revision or "main",
        "private": bool(args.private), "endpoint": hf_endpoint(args.endpoint), "commit_message": message,
        "files": [{"path": n, "size": sizes.get(n)} for n in names],
        "total_size": sum(sizes.get(n, 0) for n in names),
        "sha256": {"model.safetensors": info["sha256"]},
        "architecture": info["architecture"], "tag": info["tag"], "num_params": info["num_params"],
        "load_with": f'skelzoo.load_model("{load_name}")',
    })
    return 0
