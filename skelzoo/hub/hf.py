"""Thin, explicit layer over ``huggingface_hub`` (imported lazily, inside the functions).

What this layer adds over calling ``hf_hub_download`` directly:

- **Environment read at call time.** ``huggingface_hub`` reads ``HF_ENDPOINT``, ``HF_HUB_CACHE``,
  ``HF_HUB_OFFLINE`` once, when it is first imported (huggingface/huggingface_hub#2152). Here the
  endpoint (``endpoint=`` > ``$HF_ENDPOINT``), the cache folder (``cache_dir=`` > ``$HF_HUB_CACHE`` >
  ``$HF_HOME/hub`` > the library default) and the offline flag (``local_files_only=`` >
  ``SKELZOO_OFFLINE`` / ``HF_HUB_OFFLINE``) are read on every call and passed explicitly.
  Offline means ``local_files_only=True``: no request at all.
- **sha256 verification.** With ``sha256=``, the file is hashed on *every* call (cheap for
  checkpoints of a few MB), so a corrupt or substituted blob can never be used silently. On a
  mismatch the blob and its snapshot link are deleted from the HF cache before
  :class:`~skelzoo.errors.ChecksumError` is raised, so the next call downloads again.
- **skelzoo errors.** Hub exceptions become :class:`~skelzoo.errors.WeightsError` (repository,
  revision or file not found, gated, HTTP errors, broken transfers) or
  :class:`~skelzoo.errors.OfflineError` (offline / unreachable and not cached), with the repo,
  revision, endpoint and cache folder in the message; the original exception is chained.

Pin commit shas as revisions in the registry: a cached file at a commit sha costs zero requests.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Union

from skelzoo.errors import ChecksumError, OfflineError, WeightsError
from skelzoo.hub.cache import is_offline, sha256_file

__all__ = ["HF_PREFIX", "parse_hf_name", "hf_download", "hf_model_dir", "push_to_hub",
           "list_upload_files", "hf_cache_dir", "hf_endpoint"]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

HF_PREFIX = "hf-hub:"
_DEFAULT_ENDPOINT = "https://huggingface.co"
_REPO_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_REPO_ID_RE = re.compile(rf"^{_REPO_PART}/{_REPO_PART}$")
_COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
README_NAME = "README.md"


# ------------------------------------------------------------------------------------------ helpers
def parse_hf_name(name: str) -> tuple[str, str | None]:
    """Split ``"hf-hub:org/repo@rev"`` (prefix optional) into ``(repo_id, revision or None)``.

    Raises:
        ValueError: not of the form ``[hf-hub:]org/name[@revision]``.
    """
    text = name[len(HF_PREFIX):] if name.startswith(HF_PREFIX) else name
    repo_id, sep, revision = text.partition("@")
    if not _REPO_ID_RE.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise ValueError(
            f"invalid Hugging Face model name {name!r}: expected 'hf-hub:org/name' or "
            "'hf-hub:org/name@revision' (revision = branch, tag or 40-hex commit)"
        )
    if sep and not revision.strip():
        raise ValueError(f"invalid Hugging Face model name {name!r}: empty revision after '@' "
                         "(use 'hf-hub:org/name' or 'hf-hub:org/name@revision')")
    return repo_id, (revision.strip() if sep else None)


def hf_endpoint(endpoint: str | None = None) -> str:
    """``endpoint`` > ``$HF_ENDPOINT`` (read now) > ``https://huggingface.co``; no trailing slash."""
    return (endpoint or os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")


def hf_cache_dir(cache_dir: PathLike | None = None) -> Path:
    """``cache_dir`` > ``$HF_HUB_CACHE`` > ``$HF_HOME/hub`` > ``$XDG_CACHE_HOME/huggingface/hub`` >
    ``~/.cache/huggingface/hub`` (read now; the Hugging Face cache is shared with other tools)."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if env := os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env).expanduser()
    if home := os.environ.get("HF_HOME"):
        return Path(home).expanduser() / "hub"
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "huggingface" / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def _skelzoo_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("skelzoo")
    except PackageNotFoundError:
        from .. import __version__

        return __version__


def _where(repo_id: str, filename: str | None, revision: str | None) -> str:
    what = f"{filename!r} of " if filename else ""
    return f"{what}Hugging Face repo {repo_id!r} at revision {revision or 'main'!r}"


def _translate(exc: Exception, *, repo_id: str, filename: str | None, revision: str | None,
               offline: bool, endpoint: str, cache: Path) -> Exception:
    """Map a huggingface_hub exception onto a skelzoo error with an actionable message."""
    from huggingface_hub import utils as hfu

    where = _where(repo_id, filename, revision)
    name = f"hf-hub:{repo_id}" + (f"@{revision}" if revision else "")
    if isinstance(exc, hfu.LocalEntryNotFoundError):  # must come before EntryNotFoundError
        if offline:
            return OfflineError(
                f"offline ({_offline_why()}) and {where} is not in the cache {cache}. Load {name!r} once "
                "online (same cache folder), or copy a populated Hugging Face cache there, or unset "
                "SKELZOO_OFFLINE / HF_HUB_OFFLINE."
            )
        return OfflineError(
            f"cannot reach {endpoint} to get {where}, and it is not in the cache {cache}. Check the "
            "network/proxy or HF_ENDPOINT, or run once online."
        )
    if isinstance(exc, hfu.OfflineModeIsEnabled):
        return OfflineError(
            f"huggingface_hub is in offline mode (HF_HUB_OFFLINE was set when it was imported) and "
            f"{where} is not in the cache {cache}. Restart without HF_HUB_OFFLINE or run once online."
        )
    gated = getattr(hfu, "GatedRepoError", None)
    if gated is not None and isinstance(exc, gated):
        return WeightsError(
            f"{where} is gated on {endpoint}: accept its conditions on the repo page and pass token= "
            "(or set HF_TOKEN / run `hf auth login`)."
        )
    if isinstance(exc, hfu.RepositoryNotFoundError):
        return WeightsError(
            f"repository {repo_id!r} not found on {endpoint} (or it is private: pass token= or set "
            "HF_TOKEN). Check the name; skelzoo names look like 'hf-hub:org/name[@revision]'."
        )
    if isinstance(exc, hfu.RevisionNotFoundError):
        return WeightsError(
            f"revision {revision!r} not found in repository {repo_id!r} on {endpoint}; use an existing "
            "branch, tag or commit sha (e.g. 'hf-hub:org/name@main')."
        )
    if isinstance(exc, hfu.EntryNotFoundError):
        return WeightsError(f"file {filename!r} not found in {where} on {endpoint}.")
    if isinstance(exc, hfu.HfHubHTTPError):
        return WeightsError(f"Hugging Face Hub error for {where} on {endpoint}: {exc}")
    return WeightsError(
        f"download of {where} from {endpoint} failed ({exc.__class__.__name__}: {exc}); nothing usable "
        "was cached, try again."
    )


def _offline_why() -> str:
    flags = [v for v in ("SKELZOO_OFFLINE", "HF_HUB_OFFLINE") if os.environ.get(v, "").strip().lower()
             in {"1", "true", "yes", "on"}]
    return ", ".join(f"{v}=1" for v in flags) if flags else "local_files_only=True"


def _remove_from_hf_cache(path: Path) -> None:
    """Delete a snapshot entry and the blob it points to (or the file itself if it is a copy)."""
    try:
        blob = path.resolve()
        if path.is_symlink():
            path.unlink(missing_ok=True)
        blob.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    except OSError as exc:  # pragma: no cover - permissions etc.
        logger.warning("could not remove corrupt cached file %s: %s", path, exc)


# ------------------------------------------------------------------------------------------ download
def hf_download(repo_id: str, filename: str, *, revision: str | None = None,
                sha256: str | None = None, cache_dir: PathLike | None = None,
                token: str | bool | None = None, endpoint: str | None = None,
                local_files_only: bool | None = None) -> Path:
    """Download one file of a Hub model repo (cached) and return its local path.

    Args:
        repo_id: ``"org/name"``.
        filename: path inside the repo.
        revision: branch, tag or 40-hex commit (default ``main``); a cached file at a commit sha
            costs no request.
        sha256: expected sha256 (hex) of the file, verified on every call.
        cache_dir: Hugging Face cache folder (see :func:`hf_cache_dir`).
        token: passed to ``huggingface_hub`` (``None``: stored login / ``HF_TOKEN``; ``False``: none).
        endpoint: Hub URL (see :func:`hf_endpoint`).
        local_files_only: ``None`` reads ``SKELZOO_OFFLINE`` / ``HF_HUB_OFFLINE`` now.

    Returns:
        Path inside the HF cache (``.../snapshots/<commit>/<filename>``).

    Raises:
        ChecksumError: sha256 mismatch; the blob and snapshot link were deleted.
        OfflineError: offline or unreachable, and not cached.
        WeightsError: repository / revision / file not found, gated, HTTP or transfer error.
        ValueError: malformed ``repo_id`` or ``sha256``.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HFValidationError

    if sha256 is not None and not re.fullmatch(r"[0-9a-f]{64}", sha256.strip().lower()):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    offline = is_offline(local_files_only)
    ep, cache = hf_endpoint(endpoint), hf_cache_dir(cache_dir)
    try:
        local = hf_hub_download(
            repo_id, filename, revision=revision, cache_dir=cache, token=token,
            local_files_only=offline, endpoint=ep, library_name="skelzoo",
            library_version=_skelzoo_version(),
        )
    except HFValidationError as exc:
        raise ValueError(f"invalid Hugging Face repo id or revision: {exc}") from exc
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - translated, original chained
        if isinstance(exc, (TypeError, ValueError)) and not _is_hf_error(exc):
            raise
        raise _translate(exc, repo_id=repo_id, filename=filename, revision=revision, offline=offline,
                         endpoint=ep, cache=cache) from exc
    path = Path(local)
    if sha256 is not None:
        expected = sha256.strip().lower()
        got = sha256_file(path)
        if got != expected:
            _remove_from_hf_cache(path)
            raise ChecksumError(
                f"{_where(repo_id, filename, revision)} from {ep} does not match: expected sha256 "
                f"{expected}, got {got}. The file was removed from the cache ({path}) and not used. If "
                "the repo was updated on purpose, pin the old commit or update the registered sha256."
            )
    return path


def _is_hf_error(exc: Exception) -> bool:
    return type(exc).__module__.startswith("huggingface_hub")


def hf_model_dir(repo_id: str, *, revision: str | None = None, cache_dir: PathLike | None = None,
                 token: str | bool | None = None, endpoint: str | None = None,
                 sha256: str | None = None, local_files_only: bool | None = None) -> Path:
    """Fetch ``config.json`` + ``model.safetensors`` (+ ``README.md`` if present) of one commit.

    ``config.json`` is fetched first (the Hub counts downloads on it) and fixes the commit; the other
    files are fetched at that commit sha so all come from the same snapshot, even if the branch moves.

    Args:
        repo_id, revision, cache_dir, token, endpoint, local_files_only: as in :func:`hf_download`.
        sha256: expected sha256 of ``model.safetensors``.

    Returns:
        The snapshot folder holding the files.

    Raises:
        WeightsError: the repo lacks ``config.json`` or ``model.safetensors`` (skelzoo never loads
            pickled ``pytorch_model.bin`` from the Hub), or any :func:`hf_download` error.
        ChecksumError, OfflineError: as in :func:`hf_download`.
    """
    common: dict[str, Any] = dict(cache_dir=cache_dir, token=token, endpoint=endpoint,
                                  local_files_only=local_files_only)
    try:
        config = hf_download(repo_id, CONFIG_NAME, revision=revision, **common)
    except (OfflineError, ChecksumError):
        raise
    except WeightsError as exc:
        if _entry_missing(exc):
            raise WeightsError(
                f"{_where(repo_id, None, revision)} has no {CONFIG_NAME}; a skelzoo repo needs "
                f"{CONFIG_NAME} + {WEIGHTS_NAME} (write them with skelzoo.save_pretrained)."
            ) from exc
        raise
    folder = config.parent
    commit = folder.name if _COMMIT_RE.match(folder.name) else revision
    try:
        weights = hf_download(repo_id, WEIGHTS_NAME, revision=commit, sha256=sha256, **common)
    except (OfflineError, ChecksumError):
        raise
    except WeightsError as exc:
        if _entry_missing(exc):
            raise WeightsError(
                f"{_where(repo_id, None, commit)} has no {WEIGHTS_NAME}; skelzoo only loads "
                "safetensors from the Hub (convert a .bin/.pth with skelzoo.convert_checkpoint)."
            ) from exc
        raise
    if weights.parent != folder:  # pragma: no cover - only if the hub layout changes
        raise WeightsError(f"{CONFIG_NAME} and {WEIGHTS_NAME} of {repo_id} landed in different "
                           f"folders ({folder}, {weights.parent})")
    try:
        hf_download(repo_id, README_NAME, revision=commit, **common)
    except WeightsError as exc:  # optional file (OfflineError is a WeightsError too)
        logger.debug("no %s for %s: %s", README_NAME, repo_id, exc)
    return folder


def _entry_missing(exc: WeightsError) -> bool:
    from huggingface_hub import utils as hfu

    cause = exc.__cause__
    return isinstance(cause, hfu.EntryNotFoundError) and not isinstance(cause, hfu.LocalEntryNotFoundError)


# -------------------------------------------------------------------------------------------- upload
_UPLOAD_SKIP_SUFFIXES = (".lock", ".part", ".tmp", ".pyc")


def list_upload_files(folder: PathLike) -> list[tuple[str, int]]:
    """Files :func:`push_to_hub` would upload: ``(relative posix path, size in bytes)``, sorted.

    Hidden files/folders (``.git``, ``.cache``, ...), ``__pycache__`` and ``*.lock``/``*.part``/
    ``*.tmp`` are skipped.
    """
    root = Path(folder)
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if p.name.endswith(_UPLOAD_SKIP_SUFFIXES):
            continue
        out.append((rel.as_posix(), p.stat().st_size))
    return out


def push_to_hub(folder: PathLike, repo_id: str, *, token: str | bool | None = None,
                private: bool = False, revision: str | None = None,
                commit_message: str = "Upload skelzoo model", dry_run: bool = False,
                endpoint: str | None = None) -> list[str]:
    """Upload a ``save_pretrained`` folder to a Hub model repo (created if needed).

    The folder must hold ``config.json`` and a valid ``model.safetensors`` (header checked with
    :func:`~skelzoo.hub.safe_load.validate_safetensors`) before anything is sent.

    Args:
        folder: local folder (``config.json``, ``model.safetensors``, ``README.md``, ...).
        repo_id: ``"org/name"`` (``"hf-hub:org/name@branch"`` also accepted).
        token: Hub token (``None``: stored login / ``HF_TOKEN``).
        private: create the repo as private (an existing repo keeps its visibility).
        revision: target branch (created from ``main`` if missing); default ``main``.
        commit_message: commit message.
        dry_run: only list (and log with sizes) what would be uploaded; no network.
        endpoint: Hub URL (see :func:`hf_endpoint`).

    Returns:
        Relative paths of the uploaded (or, with ``dry_run``, to-be-uploaded) files.

    Raises:
        WeightsError: folder incomplete, or the Hub refused (auth, permissions, network).
        CheckpointError: ``model.safetensors`` is invalid.
        OfflineError: offline mode is on and ``dry_run`` is False.
        ValueError: malformed ``repo_id``.
    """
    from skelzoo.hub.safe_load import validate_safetensors

    repo_id, rev_in_name = parse_hf_name(repo_id)
    revision = revision or rev_in_name
    root = Path(folder)
    for needed in (CONFIG_NAME, WEIGHTS_NAME):
        if not (root / needed).is_file():
            raise WeightsError(f"{root} has no {needed}; write the folder with skelzoo.save_pretrained")
    validate_safetensors(root / WEIGHTS_NAME)
    files = list_upload_files(root)
    names = [name for name, _ in files]
    ep = hf_endpoint(endpoint)
    if dry_run:
        for name, size in files:
            logger.info("would upload %s (%d bytes) to %s/%s@%s", name, size, ep, repo_id,
                        revision or "main")
        return names
    if is_offline():
        raise OfflineError(f"cannot push {root} to {repo_id}: offline mode is on "
                           "(unset SKELZOO_OFFLINE / HF_HUB_OFFLINE)")

    from huggingface_hub import HfApi

    api = HfApi(endpoint=ep, token=token, library_name="skelzoo", library_version=_skelzoo_version())
    try:
        api.create_repo(repo_id, token=token, private=private, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, token=token, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(root), revision=revision,
                          commit_message=commit_message, token=token, allow_patterns=names)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - translated, original chained
        if isinstance(exc, (TypeError, ValueError)) and not _is_hf_error(exc):
            raise
        raise WeightsError(
            f"push of {root} to {ep}/{repo_id} failed ({exc.__class__.__name__}: {exc}). Check the "
            "token (token= / HF_TOKEN / `hf auth login`) and write access to the repo."
        ) from exc
    logger.info("pushed %d files to %s/%s", len(names), ep, repo_id)
    return names
