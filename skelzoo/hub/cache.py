"""skelzoo's own download cache for plain URLs (original checkpoints) and converted weights.

Layout (``cache_dir()`` is ``$SKELZOO_HOME``, else ``$XDG_CACHE_HOME/skelzoo``, else
``~/.cache/skelzoo``; all read at call time)::

    <cache_dir()>/checkpoints/<host>/<url path>          URL downloads (download_url)
    <cache_dir()>/converted/<key>.safetensors            converted originals (cached_conversion)
    .../.<file>.lock, .../.<file>.<random>.part           per-file lock, in-flight temporary files

The Hugging Face Hub has its own cache (see :mod:`skelzoo.hub.hf`).

Cache policy (decided here, documented for users):

- A download is streamed to a temporary file *in the target folder*, hashed while streaming,
  checked against the Content-Length and the expected sha256 / hex prefix, fsync-ed and only then
  ``os.replace``-d into place. Any failure (hash mismatch, truncated transfer, dropped connection,
  exception, Ctrl-C) deletes the temporary file; nothing is left that a later load could pick up.
  A process killed with SIGKILL can leave a ``.part`` file, which is never read and is removed by the
  next download of the same file.
- A per-file lock (``filelock``) serialises concurrent downloads of one file across processes; the
  waiters find the finished file and make no request.
- A cached file is re-hashed on *every* call that passes ``sha256``/``hash_prefix`` (checkpoints are a
  few MB, hashing costs milliseconds) -- no sidecar that could go stale. A cached file that does not
  match raises :class:`~skelzoo.errors.ChecksumError` and is **not** deleted or silently replaced (it
  may have been put there by hand); the message says to delete it. Without a hash, a cached file is
  returned as is. Either way a cached file costs zero network requests.
- A ``validate`` callback (for checkpoints: "it loads as a torch checkpoint and fits the registry
  entry") runs on the complete temporary file *before* it is moved into place, so a download that
  ends early without a Content-Length, or a corrupt or substituted body, is never cached.
- First-use hashes: a URL downloaded without a published hash gets its sha256 recorded beside it
  (``.<file>.sha256``). A cached file is checked against that record on every use, and a later
  download of the same URL (after the file was deleted) must match it; a mismatch raises
  :class:`~skelzoo.errors.ChecksumError` naming the file (and the record) to delete.
- Offline (``offline=True``, ``SKELZOO_OFFLINE=1`` or ``HF_HUB_OFFLINE=1``) and not cached ->
  :class:`~skelzoo.errors.OfflineError` naming the URL and the exact path to put the file at.
- Converted weights are reused while their header is valid and their recorded ``__metadata__``
  (key, source URL, converter metadata) equals what the caller passes; otherwise converted again.
- The empty hidden ``.lock`` files stay (deleting lock files races with other processes).
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Union
from urllib.parse import unquote, urlsplit

from skelzoo.errors import ChecksumError, OfflineError, WeightsError
from skelzoo.hub.safe_load import default_file_mode

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from filelock import FileLock

__all__ = [
    "cache_dir", "is_offline", "sha256_file", "hash_prefix_from_name", "url_cache_path",
    "download_url", "cached_conversion",
]

logger = logging.getLogger(__name__)

PathLike = Union[str, "os.PathLike[str]"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_OFFLINE_VARS = ("SKELZOO_OFFLINE", "HF_HUB_OFFLINE")
_CHUNK = 1 << 20  # hashing chunk
_NET_CHUNK = 1 << 16  # network read size: urllib3 blocks until a whole chunk arrived
_HASH_PREFIX_RE = re.compile(r"-([a-f0-9]{6,64})\.[^.]+$")
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$")
_SEGMENT_RE = re.compile(r"[^A-Za-z0-9._+=@,-]")


# ------------------------------------------------------------------------------------------- basics
def cache_dir() -> Path:
    """Root of skelzoo's cache: ``$SKELZOO_HOME``, else ``$XDG_CACHE_HOME/skelzoo``, else
    ``~/.cache/skelzoo`` (environment read at call time; the folder is not created)."""
    if home := os.environ.get("SKELZOO_HOME"):
        return Path(home).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "skelzoo"
    return Path.home() / ".cache" / "skelzoo"


def _default_checkpoint_dir() -> Path:
    return cache_dir() / "checkpoints"


def is_offline(offline: bool | None = None) -> bool:
    """``offline`` when given, else whether ``SKELZOO_OFFLINE`` or ``HF_HUB_OFFLINE`` is truthy (now)."""
    if offline is not None:
        return bool(offline)
    return any(os.environ.get(v, "").strip().lower() in _TRUE for v in _OFFLINE_VARS)


def _offline_reason() -> str:
    set_vars = [v for v in _OFFLINE_VARS if os.environ.get(v, "").strip().lower() in _TRUE]
    return ", ".join(f"{v}=1" for v in set_vars) if set_vars else "offline=True"


def sha256_file(path: PathLike, chunk_size: int = _CHUNK) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def hash_prefix_from_name(name: str) -> str | None:
    """The sha256 hex prefix embedded in a torch.hub / mmaction2 style file name, if any.

    ``"resnet18-f37072fd.pth"`` -> ``"f37072fd"``; ``"x_20220101-abcdef12.pth"`` -> ``"abcdef12"``.
    Only a URL's last path component is looked at. Callers decide whether to enforce it (a wrong
    prefix in a published name would otherwise lock every user out, cf. pytorch/vision#7744).
    """
    base = unquote(urlsplit(name).path.rsplit("/", 1)[-1]) if "://" in name else Path(name).name
    m = _HASH_PREFIX_RE.search(base)
    return m.group(1) if m else None


def _check_hash_args(sha256: str | None, hash_prefix: str | None) -> tuple[str | None, str | None]:
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    if hash_prefix is not None:
        hash_prefix = hash_prefix.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{1,64}", hash_prefix):
            raise ValueError(f"hash_prefix must be 1-64 hex digits, got {hash_prefix!r}")
    return sha256, hash_prefix


def _hash_problem(got: str, sha256: str | None, hash_prefix: str | None) -> str | None:
    if sha256 is not None and got != sha256:
        return f"expected sha256 {sha256}, got {got}"
    if hash_prefix is not None and not got.startswith(hash_prefix):
        return f"expected a sha256 starting with {hash_prefix}, got {got}"
    return None


def _safe_relpath(rel: str) -> Path:
    parts = [p for p in rel.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise ValueError(f"invalid cache file name {rel!r}: must be a relative path without '..'")
    return Path(*parts)


def url_cache_path(url: str, *, cache_dir: PathLike | None = None, filename: str | None = None) -> Path:
    """Where :func:`download_url` stores ``url``.

    Default: ``<cache_dir()>/checkpoints/<host>/<url path>`` -- the URL's folder structure is kept
    because many zoos publish files with the same basename (``.../stgcn_xsub/j.pth``). A query string
    adds a ``q-<hash>`` folder. ``filename`` (a relative path) replaces everything after the root.
    """
    root = Path(cache_dir) if cache_dir is not None else _default_checkpoint_dir()
    if filename is not None:
        return root / _safe_relpath(filename)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    segments = [_SEGMENT_RE.sub("_", unquote(s)) for s in parts.path.split("/") if s not in ("", ".", "..")]
    if not segments:
        segments = ["index"]
    if parts.query:
        segments.insert(-1, "q-" + hashlib.sha256(parts.query.encode()).hexdigest()[:10])
    host = _SEGMENT_RE.sub("_", parts.netloc.rsplit("@", 1)[-1])
    return root / host / Path(*segments)


# ------------------------------------------------------------------------------------------ locking
def _lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


def _acquire(lock_file: Path, what: str) -> FileLock:
    """Take the inter-process lock ``lock_file`` (blocking; logs once if another process holds it)."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(lock_file))
    try:
        lock.acquire(timeout=0.05)
    except Timeout:
        logger.info("waiting for another process to finish %s (lock %s)", what, lock_file)
        lock.acquire()
    return lock


def _remove_stale_parts(target: Path) -> None:
    """Delete ``.part`` files of ``target`` left by killed processes (call while holding its lock)."""
    for stale in target.parent.glob(f".{_glob_escape(target.name)}.*.part"):
        logger.debug("removing stale partial download %s", stale)
        stale.unlink(missing_ok=True)


def _glob_escape(name: str) -> str:
    """Escape glob metacharacters in a file name."""
    return re.sub(r"([*?\[])", r"[\1]", name)


def _record_path(target: Path) -> Path:
    """Where the first-use sha256 of an unhashed download is recorded."""
    return target.with_name(f".{target.name}.sha256")


def _recorded_sha256(target: Path) -> str | None:
    try:
        text = _record_path(target).read_text().strip().lower()
    except OSError:
        return None
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else None


def _verify_cached(path: Path, url: str, sha256: str | None, hash_prefix: str | None,
                   validate: Callable[[Path], None] | None = None) -> Path:
    if sha256 is None and hash_prefix is None:
        recorded = _recorded_sha256(path)
        if recorded is not None:
            got = sha256_file(path)
            if got != recorded:
                raise ChecksumError(
                    f"cached file {path} (from {url}) has sha256 {got}, but {recorded} was recorded when it "
                    f"was first downloaded ({_record_path(path)}). It was not used. Delete {path} to "
                    "download it again (and also the record if the publisher replaced the file on purpose)."
                )
        elif validate is not None:  # cached before first-use hashes existed, or put there by hand
            try:
                validate(path)
            except Exception as exc:  # noqa: BLE001 - reported with the path to delete
                raise WeightsError(
                    f"cached file {path} (from {url}) is not usable: {exc}. Delete {path} to download it "
                    "again."
                ) from exc
            _write_record(path, sha256_file(path))
        return path
    got = sha256_file(path)
    problem = _hash_problem(got, sha256, hash_prefix)
    if problem:
        raise ChecksumError(
            f"cached file {path} (from {url}) does not match: {problem}. It was not used. Delete it "
            "to download it again, or put the right file there."
        )
    return path


# ----------------------------------------------------------------------------------------- download
def download_url(url: str, *, sha256: str | None = None, hash_prefix: str | None = None,
                 cache_dir: PathLike | None = None, filename: str | None = None,
                 progress: bool = True, offline: bool | None = None,
                 timeout: float = 60.0, validate: Callable[[Path], None] | None = None) -> Path:
    """Download ``url`` into the cache (once) and return the local path.

    Args:
        url: http(s) URL of the file.
        sha256: expected full sha256 (hex); checked after download and on every cached use.
        hash_prefix: expected sha256 hex prefix (as in ``name-<prefix>.pth``, see
            :func:`hash_prefix_from_name`); checked like ``sha256``.
        cache_dir: folder to store into (default ``cache_dir()/checkpoints``); see
            :func:`url_cache_path` for the file name.
        filename: relative path under ``cache_dir`` instead of ``<host>/<url path>``.
        progress: show a tqdm progress bar (on ``sys.stderr``).
        offline: force (True) or forbid (False) offline mode; ``None`` reads ``SKELZOO_OFFLINE`` /
            ``HF_HUB_OFFLINE`` now.
        timeout: seconds for connecting and for each read.
        validate: called with the complete downloaded file before it is moved into the cache (and
            with a cached file that has no first-use record); raising refuses the file.

    Returns:
        Path of the verified cached file.

    Raises:
        ChecksumError: downloaded or cached bytes do not match (the download is not kept).
        OfflineError: offline (or the host is unreachable) and the file is not cached; the message
            gives the URL and the exact path to put the file at.
        WeightsError: HTTP error status, truncated or interrupted transfer, or ``validate`` refused
            the file (nothing is cached; a refused cached file is named in the message).
        ValueError: malformed URL, hash or file name.
    """
    sha256, hash_prefix = _check_hash_args(sha256, hash_prefix)
    target = url_cache_path(url, cache_dir=cache_dir, filename=filename)
    if target.is_file():
        logger.debug("using cached %s for %s", target, url)
        return _verify_cached(target, url, sha256, hash_prefix, validate)

    expected = f" (sha256 {sha256})" if sha256 else (f" (sha256 prefix {hash_prefix})" if hash_prefix else "")
    if is_offline(offline):
        raise OfflineError(
            f"skelzoo is offline ({_offline_reason()}) and {url} is not cached. Download it on a "
            f"connected machine and put it at {target}{expected}, or go online (unset SKELZOO_OFFLINE "
            "and HF_HUB_OFFLINE)."
        )

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = _acquire(_lock_path(target), f"downloading {url}")
    try:
        if target.is_file():  # another process finished it while we waited
            return _verify_cached(target, url, sha256, hash_prefix, validate)
        _remove_stale_parts(target)
        _fetch(url, target, sha256=sha256, hash_prefix=hash_prefix, progress=progress,
               timeout=timeout, expected=expected, validate=validate)
    finally:
        lock.release()
    return target


def _write_record(target: Path, digest: str) -> None:
    """Record ``digest`` as the first-use sha256 of ``target`` (atomic, readable by the group/others)."""
    record = _record_path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f"{record.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(digest + "\n")
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, record)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fetch(url: str, target: Path, *, sha256: str | None, hash_prefix: str | None, progress: bool,
           timeout: float, expected: str, validate: Callable[[Path], None] | None = None) -> None:
    """Stream ``url`` to a temp file next to ``target``, verify, and ``os.replace`` it into place."""
    import requests
    from tqdm.auto import tqdm

    try:
        response = requests.get(url, stream=True, timeout=timeout,
                                headers={"Accept-Encoding": "identity", "User-Agent": "skelzoo"})
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise OfflineError(
            f"cannot reach {url} ({exc.__class__.__name__}: {exc}). Check the network/proxy "
            f"(HTTPS_PROXY), or download the file elsewhere and put it at {target}{expected}."
        ) from exc
    except requests.RequestException as exc:
        raise WeightsError(f"cannot download {url}: {exc}") from exc

    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with response, os.fdopen(fd, "wb") as out:
            if response.status_code != 200:
                raise WeightsError(
                    f"cannot download {url}: HTTP {response.status_code} {response.reason}. Check the "
                    f"URL, or put the file at {target}{expected} yourself."
                )
            length_header = response.headers.get("Content-Length")
            total = int(length_header) if length_header and length_header.isdigit() else None
            h = hashlib.sha256()
            received = 0
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
                      desc=target.name, leave=False) as bar:
                try:
                    for chunk in response.iter_content(chunk_size=_NET_CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                except requests.RequestException as exc:
                    raise WeightsError(
                        f"download of {url} was interrupted after {received} bytes "
                        f"({exc.__class__.__name__}); nothing was cached, try again."
                    ) from exc
            if total is not None and received != total:
                raise WeightsError(
                    f"download of {url} is truncated: got {received} of {total} bytes; nothing was "
                    "cached, try again."
                )
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        problem = _hash_problem(got, sha256, hash_prefix)
        if problem:
            raise ChecksumError(
                f"download of {url} does not match: {problem}. The file was discarded, nothing was "
                "cached. The file at the URL changed or is corrupt; do not use it."
            )
        unhashed = sha256 is None and hash_prefix is None
        recorded = _recorded_sha256(target) if unhashed else None
        if recorded is not None and got != recorded:
            raise ChecksumError(
                f"download of {url} has sha256 {got}, but {recorded} was recorded when it was first "
                f"downloaded ({_record_path(target)}); the file at the URL changed. Nothing was cached. If "
                f"the publisher replaced it on purpose, delete {_record_path(target)} and try again."
            )
        if validate is not None:
            try:
                validate(tmp)
            except Exception as exc:  # noqa: BLE001 - the download is refused, cause chained
                from skelzoo.errors import CheckpointError
                kind = CheckpointError if isinstance(exc, CheckpointError) else WeightsError
                raise kind(
                    f"download of {url} is not a valid file ({exc}); nothing was cached. If the transfer "
                    "was cut short, try again."
                ) from exc
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, target)
        if unhashed and recorded is None:
            _write_record(target, got)
        logger.info("downloaded %s to %s (%d bytes, sha256 %s)", url, target, received, got)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -------------------------------------------------------------------------------------- conversion
def cached_conversion(key: str, produce: Callable[[], Mapping[str, torch.Tensor]], *,
                      source_url: str | None = None, cache_dir: PathLike | None = None,
                      metadata: Mapping[str, str] | None = None) -> Path:
    """Convert an original checkpoint to safetensors once, cache the result, return its path.

    ``produce()`` does the expensive part (typically ``download_url`` of the original checkpoint,
    ``load_torch_checkpoint`` and the key mapping) and returns ``{name: tensor}``. It is called only
    when ``<cache_dir>/<key>.safetensors`` (default folder ``cache_dir()/converted``) is missing or
    stale, so a cached conversion needs neither the network nor the original file. The result is
    written atomically under a per-key file lock (concurrent processes convert once).

    The cached file records ``skelzoo_conversion_key``, ``source_url`` (if given) and ``metadata`` in
    its safetensors ``__metadata__``; it is reused only if its header is valid and these recorded
    values equal the ones passed now -- so a changed URL or a bumped converter version
    (``metadata={"converter": "2"}``) triggers a fresh conversion. Only the header is read.

    Args:
        key: cache key, ``[A-Za-z0-9._+-]`` (e.g. ``"stgcn.ntu60_xsub"``).
        produce: zero-argument callable returning the converted state dict.
        source_url: where the original came from (recorded, and part of the staleness check).
        cache_dir: folder for converted files.
        metadata: extra ``__metadata__`` (str -> str), also part of the staleness check.

    Returns:
        Path of the cached ``.safetensors`` file.

    Raises:
        ValueError: bad ``key``.
        TypeError: ``produce`` returned non-tensors, or metadata is not str -> str.
        Whatever ``produce`` raises (``WeightsError``, ``OfflineError``, ``CheckpointError``, ...);
        nothing is cached then.
    """
    from skelzoo.errors import CheckpointError
    from skelzoo.hub.safe_load import save_safetensors, validate_safetensors

    if not _KEY_RE.match(key):
        raise ValueError(f"invalid conversion cache key {key!r}: use letters, digits and . _ + -")
    folder = Path(cache_dir) if cache_dir is not None else cache_dir_converted()
    target = folder / f"{key}.safetensors"
    wanted = {"skelzoo_conversion_key": key}
    if source_url is not None:
        wanted["source_url"] = source_url
    wanted.update(metadata or {})

    def _reusable() -> bool:
        if not target.is_file():
            return False
        try:
            recorded = validate_safetensors(target).get("__metadata__") or {}
        except CheckpointError as exc:
            logger.warning("converted cache file is invalid, converting again: %s", exc)
            return False
        stale = {k: (recorded.get(k), v) for k, v in wanted.items() if recorded.get(k) != v}
        if stale:
            logger.info("converted cache file %s is stale (%s), converting again", target, stale)
        return not stale

    if _reusable():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    lock = _acquire(_lock_path(target), f"converting {key}")
    try:
        if _reusable():
            return target
        state_dict = produce()
        save_safetensors(state_dict, target, metadata=wanted)
        logger.info("cached converted weights %s at %s", key, target)
    finally:
        lock.release()
    return target


def cache_dir_converted() -> Path:
    """Default folder of :func:`cached_conversion`: ``cache_dir()/converted``."""
    return cache_dir() / "converted"
