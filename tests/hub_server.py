"""Local HTTP servers for offline tests: a minimal Hugging Face Hub endpoint and a static file server.

Both run a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1:<ephemeral port>`` in a daemon thread, record
every request, and stop themselves after ``max_lifetime`` seconds even if a test forgets to. No
third-party imports (spawned worker processes import this module).

Hub routes (reference/hub.md section 4): ``HEAD|GET /{org}/{name}/resolve/{rev}/{path}`` with
``X-Repo-Commit``, ``ETag`` (sha256 of the body), ``Content-Length``; ``Range`` for resumes; typed 401/404
errors via ``X-Error-Code`` (``RepoNotFound``, ``GatedRepo``, ``RevisionNotFound``, ``EntryNotFound``);
``GET /api/models/{org}/{name}[/revision/{rev}]`` and ``GET /api/models/{org}/{name}/tree/{rev}``.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["HubServer", "StaticServer", "commit_sha", "download_worker"]

_RANGE_RE = re.compile(r"bytes=(\d+)-(\d*)$")


def commit_sha(repo_id: str, revision: str) -> str:
    """Deterministic fake commit sha of a revision (the revision itself if it is 40 hex)."""
    if re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    return hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()


def _git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@dataclass
class _Base:
    """Shared start/stop/counting machinery."""

    max_lifetime: float = 120.0
    requests: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _httpd: _Server | None = field(default=None, repr=False)
    _timer: threading.Timer | None = field(default=None, repr=False)
    _conns: set[socket.socket] = field(default_factory=set, repr=False)

    # -- lifecycle
    def start(self) -> _Base:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with owner._lock:
                    owner._conns.add(self.connection)

            def finish(self) -> None:
                with owner._lock:
                    owner._conns.discard(self.connection)
                super().finish()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                owner._record("HEAD", self.path)
                owner._handle(self, head=True)

            def do_GET(self) -> None:  # noqa: N802
                owner._record("GET", self.path)
                owner._handle(self, head=False)

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self._timer = threading.Timer(self.max_lifetime, self.stop)
        self._timer.daemon = True
        self._timer.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent); the port then refuses connections."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        with self._lock:  # also drop kept-alive connections, or pooled clients would still get answers
            conns, self._conns = set(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._timer is not None:
            self._timer.cancel()

    def __enter__(self) -> _Base:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    # -- accounting
    def _record(self, method: str, path: str) -> None:
        with self._lock:
            self.requests.append((method, path))

    def count(self, method: str | None = None, contains: str = "") -> int:
        """Number of requests so far, optionally filtered by method and a path substring."""
        with self._lock:
            return sum(1 for m, p in self.requests if (method is None or m == method) and contains in p)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def _handle(self, h: BaseHTTPRequestHandler, *, head: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- response helpers
    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes = b"", *, head: bool = False,
              headers: Mapping[str, str] | None = None, truncate_at: int | None = None,
              chunk: int = 65536, delay: float = 0.0, content_length: int | None = None) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        if truncate_at is not None:
            h.send_header("Connection", "close")
        h.end_headers()
        if head:
            return
        payload = body if truncate_at is None else body[:max(0, truncate_at)]
        try:
            for i in range(0, len(payload), chunk):
                h.wfile.write(payload[i:i + chunk])
                h.wfile.flush()
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
            return
        if truncate_at is not None:
            h.close_connection = True  # the client sees the connection drop before Content-Length


# ------------------------------------------------------------------------------------- static files
@dataclass
class StaticServer(_Base):
    """Serves ``files`` ({url path: bytes}) with knobs for failure tests.

    Knobs (mutable while running): ``wrong_bytes`` (paths whose bytes are corrupted), ``truncate``
    ({path: n}: send the full Content-Length but only n bytes, then drop the connection), ``delay``
    (seconds slept after each ``chunk`` bytes), ``chunk``, ``status`` ({path: code} forced status).
    """

    files: dict[str, bytes] = field(default_factory=dict)
    wrong_bytes: set[str] = field(default_factory=set)
    truncate: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    chunk: int = 65536

    def file_url(self, path: str) -> str:
        return self.url + "/" + path.lstrip("/")

    def _handle(self, h: BaseHTTPRequestHandler, *, head: bool) -> None:
        path = unquote(urlsplit(h.path).path).lstrip("/")
        if path in self.status:
            self._send(h, self.status[path], b"forced error", head=head)
            return
        if path not in self.files:
            self._send(h, 404, b"not found", head=head)
            return
        body = self.files[path]
        if path in self.wrong_bytes:
            body = bytes(b ^ 0xFF for b in body[:16]) + body[16:]
        self._send(h, 200, body, head=head, headers={"Content-Type": "application/octet-stream"},
                   truncate_at=self.truncate.get(path), chunk=self.chunk, delay=self.delay)


# -------------------------------------------------------------------------------------- hub endpoint
@dataclass
class HubServer(_Base):
    """Minimal Hugging Face Hub endpoint serving ``repos`` = {repo_id: {revision: {filename: bytes}}}.

    Each revision name gets a fake commit sha (:func:`commit_sha`); a 40-hex revision key is its own
    sha. Knobs: ``gated`` (repo ids answered with 401 GatedRepo), ``truncate`` ({filename: n}: GET
    bodies stop at absolute byte n and the connection drops, also for Range resumes), ``corrupt``
    ({filename}: the GET body differs from what HEAD's ETag announces).
    """

    repos: dict[str, dict[str, dict[str, bytes]]] = field(default_factory=dict)
    gated: set[str] = field(default_factory=set)
    truncate: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)

    def commit(self, repo_id: str, revision: str = "main") -> str:
        return commit_sha(repo_id, revision)

    def _resolve(self, repo_id: str, rev: str) -> tuple[str, dict[str, bytes]] | None:
        revs = self.repos[repo_id]
        if rev in revs:
            return commit_sha(repo_id, rev), revs[rev]
        for name, files in revs.items():
            if commit_sha(repo_id, name) == rev:
                return rev, files
        return None

    def _error(self, h: BaseHTTPRequestHandler, status: int, code: str, message: str, *, head: bool,
               commit: str | None = None) -> None:
        headers = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
        if commit:
            headers["X-Repo-Commit"] = commit
        self._send(h, status, json.dumps({"error": message}).encode(), head=head, headers=headers)

    def _handle(self, h: BaseHTTPRequestHandler, *, head: bool) -> None:
        raw_path = urlsplit(h.path).path
        parts = raw_path.strip("/").split("/")
        if parts[:2] == ["api", "models"] and len(parts) >= 4:
            self._api(h, parts[2:], head=head)
        elif len(parts) >= 5 and parts[2] == "resolve":
            repo_id = f"{unquote(parts[0])}/{unquote(parts[1])}"
            self._file(h, repo_id, unquote(parts[3]), unquote("/".join(parts[4:])), head=head)
        else:
            self._send(h, 404, b"not found", head=head)

    def _check_repo(self, h: BaseHTTPRequestHandler, repo_id: str, *, head: bool) -> bool:
        if repo_id not in self.repos:
            self._error(h, 401, "RepoNotFound", "Repository Not Found", head=head)
            return False
        if repo_id in self.gated:
            self._error(h, 401, "GatedRepo", "Access to this repo is restricted", head=head)
            return False
        return True

    def _file(self, h: BaseHTTPRequestHandler, repo_id: str, rev: str, filename: str, *, head: bool) -> None:
        if not self._check_repo(h, repo_id, head=head):
            return
        resolved = self._resolve(repo_id, rev)
        if resolved is None:
            self._error(h, 404, "RevisionNotFound", f"Invalid rev id: {rev}", head=head)
            return
        sha, files = resolved
        if filename not in files:
            self._error(h, 404, "EntryNotFound", f"{filename} does not exist", head=head, commit=sha)
            return
        body = files[filename]
        headers = {"X-Repo-Commit": sha, "ETag": f'"{hashlib.sha256(body).hexdigest()}"',
                   "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if filename in self.corrupt and not head:
            body = bytes(b ^ 0xFF for b in body[:16]) + body[16:]
        start = 0
        m = _RANGE_RE.match(h.headers.get("Range", ""))
        status = 200
        if m and not head:
            start = min(int(m.group(1)), len(body))
            end = int(m.group(2)) + 1 if m.group(2) else len(body)
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(body)}"
            body, status = body[start:end], 206
        cut = self.truncate.get(filename)
        self._send(h, status, body, head=head, headers=headers,
                   truncate_at=None if cut is None else cut - start)

    def _api(self, h: BaseHTTPRequestHandler, rest: list[str], *, head: bool) -> None:
        repo_id = f"{unquote(rest[0])}/{unquote(rest[1])}"
        if not self._check_repo(h, repo_id, head=head):
            return
        kind = rest[2] if len(rest) > 2 else "revision"
        rev = unquote(rest[3]) if len(rest) > 3 else "main"
        resolved = self._resolve(repo_id, rev)
        if kind not in ("revision", "tree") or resolved is None:
            self._error(h, 404, "RevisionNotFound", f"Invalid rev id: {rev}", head=head)
            return
        sha, files = resolved
        if kind == "revision":
            payload: object = {
                "id": repo_id, "modelId": repo_id, "sha": sha, "private": False, "downloads": 0,
                "likes": 0, "tags": [], "siblings": [{"rfilename": f} for f in sorted(files)],
            }
        else:
            payload = [{"type": "file", "path": f, "size": len(b), "oid": _git_blob_oid(b)}
                       for f, b in sorted(files.items())]
        self._send(h, 200, json.dumps(payload).encode(), head=head,
                   headers={"Content-Type": "application/json"})


# ------------------------------------------------------------------------------ multiprocess helper
def import_cache_module():  # -> module skelzoo.hub.cache
    """Import ``skelzoo.hub.cache`` in a fresh (spawned) process without running ``skelzoo/__init__``.

    The package ``__init__`` imports torch and every model (~1.5 s of CPU); eight spawned workers on
    a 2-CPU runner would spend most of the test doing that. A bare package stub pointing at the
    source folder lets the real ``skelzoo.hub`` code run without it. No-op if skelzoo is imported.
    """
    import importlib
    import sys
    import types

    if "skelzoo" not in sys.modules:
        pkg = types.ModuleType("skelzoo")
        pkg.__path__ = [str(Path(__file__).resolve().parents[1] / "skelzoo")]
        sys.modules["skelzoo"] = pkg
    return importlib.import_module("skelzoo.hub.cache")


def download_worker(url: str, cache: str, sha256: str, barrier_dir: str, n: int) -> str:
    """Worker for the concurrency test (spawned): wait until all ``n`` workers are up, then download."""
    import os

    cache_mod = import_cache_module()
    (Path(barrier_dir) / f"{os.getpid()}.ready").touch()
    deadline = time.monotonic() + 60
    while len(list(Path(barrier_dir).glob("*.ready"))) < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return str(cache_mod.download_url(url, sha256=sha256, cache_dir=cache, progress=False))


if __name__ == "__main__":  # used by the kill-mid-download test: python hub_server.py URL CACHE
    import sys

    import_cache_module().download_url(sys.argv[1], cache_dir=sys.argv[2], progress=False)
