"""Mutation run over every skeleton reader: each case in its own process, 2 GiB address space, 30 s.

Seeds are small synthetic files of every format (always) and the real recordings of
``../shared/data`` (when present; they are only read and mutated in temporary folders, never
written into the project). Every case applies one kind of mutation (the same kinds for every
reader) and then runs the format's reader and :func:`skelzoo.read_skeleton` on the result, in a
forked child with ``RLIMIT_AS`` = 2 GiB and a 30 s wall-clock limit.

Outcome of a case:

- ``format_error``: a :class:`skelzoo.FormatError` whose message names the file;
- ``accepted``: the readers returned a sequence (reported with the frame rate and size);
- ``other``: anything else -- a traceback (another exception type, a FormatError without the file
  name), a hang (timeout), a memory error or a child killed by the address-space limit.

Besides the outcome, the child measures the reader's peak Python/numpy allocation (``tracemalloc``)
and the case counts as ``memory_over`` when it exceeds ``8 x file size + 4 x output + 32 MiB``.

Usage::

    python benchmarks/mutation_fuzz.py                 # the full run: 640 cases
    python benchmarks/mutation_fuzz.py --cases 40      # a bounded subset (what CI runs)
    python benchmarks/mutation_fuzz.py --json out.json # machine-readable summary and every case

Run it against another checkout with ``PYTHONPATH=/path/to/checkout`` (it imports ``skelzoo`` from
the path, nothing else from the project).
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import resource
import select
import signal
import sys
import tarfile
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import numpy as np

AS_LIMIT = 2 << 30
TIMEOUT_S = 30.0
DEFAULT_CASES = 640
SHARED_DATA = Path(os.environ.get("SKELZOO_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data"

#: values swapped in for a number of the file (overflow, non-finite, non-ASCII digits, separators ...)
NASTY_NUMBERS = ["1e300", "-1e300", "nan", "inf", "-inf", "1_000.5", "\uff11\uff12", "\u0663", "7", "-3", "1.5",
                 "999999999999", "0", "-0.0", "1e-300", "0x10", "1e39", "+-1"]
MUTATIONS = ("truncate", "delete_span", "flip_byte", "insert_bytes", "nasty_number", "dup_lines",
             "inflate_count", "frame_rate", "deep_nesting", "drop_lines")


# ------------------------------------------------------------------------------------------- seeds
def _synthetic_seeds() -> dict[str, tuple[bytes, str, str]]:
    """``name -> (bytes, extension, reader)``: small valid files of every format, built here."""
    rng = np.random.default_rng(0)
    seeds: dict[str, tuple[bytes, str, str]] = {}
    # NTU .skeleton: 4 frames, 1 body
    lines = ["4"]
    for _ in range(4):
        lines += ["1", "72057594037927936 0 1 1 1 1 0 0.1 -0.2 2", "25"]
        for _ in range(25):
            xyz = rng.normal(size=3)
            lines.append(" ".join(f"{v:.6f}" for v in xyz) + " 200.5 150.25 1000.1 500.2 0.1 0.2 0.3 0.9 2")
    seeds["syn_ntu"] = ("\n".join(lines).encode() + b"\n", ".skeleton", "ntu")
    pk = "\n".join(" ".join(f"{v:.5f}" for v in rng.normal(size=150)) for _ in range(4))
    seeds["syn_pkummd"] = (pk.encode() + b"\n", ".txt", "pkummd")
    kin = []
    for f in range(4):
        vals = [f"{(f * 333333):d}"] + [f"{v:.5f}" if k % 4 != 3 else "2" for k, v in enumerate(rng.normal(size=100))]
        kin.append(",".join(vals) + ",")
    seeds["syn_kinect"] = ("\n".join(kin).encode() + b"\n", ".csv", "kinect_csv")
    bvh = ("HIERARCHY\nROOT Root\n{\n OFFSET 0 0 0\n CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation "
           "Yrotation\n JOINT Mid\n {\n  OFFSET 0 10 0\n  CHANNELS 3 Yrotation Xrotation Zrotation\n  End Site\n  {\n"
           "   OFFSET 0 5 0\n  }\n }\n}\nMOTION\nFrames: 3\nFrame Time: 0.0333333\n"
           + "\n".join(" ".join(f"{v:.4f}" for v in rng.normal(size=9)) for _ in range(3)) + "\n")
    seeds["syn_bvh"] = (bvh.encode(), ".bvh", "bvh")
    kp = {"fps": 25, "frames": [[{"keypoints": [round(float(v), 3) for v in rng.uniform(0, 1, 51)], "track_id": 1}],
                                [{"keypoints": [[1.0, 2.0, 0.5]] * 17, "track_id": 1}]]}
    seeds["syn_keypoints"] = (json.dumps(kp).encode(), ".json", "keypoints_json")
    babel = {"12": {"dur": 3.5, "feat_p": "x/y.npz", "seq_ann": {"labels": [{"act_cat": ["walk"]}]},
                    "frame_ann": {"labels": [{"act_cat": ["walk"], "start_t": 0.0, "end_t": 1.5},
                                             {"act_cat": ["stand"], "start_t": 1.5, "end_t": 3.5}]}}}
    seeds["syn_babel"] = (json.dumps(babel).encode(), ".json", "babel")
    seeds["syn_pku_labels"] = (b"1,2,30,1\n4,31,90,2\n", ".txt", "pkummd_labels")
    buf = io.BytesIO()
    np.savez_compressed(buf, data=rng.normal(size=(3, 1, 25, 3)).astype(np.float32), layout=np.array("ntu25"),
                        fps=np.array(30.0), meta_json=np.array(json.dumps({"note": "synthetic"})))
    seeds["syn_npz"] = (buf.getvalue(), ".npz", "numpy")
    buf = io.BytesIO()
    np.save(buf, rng.normal(size=(3, 25, 3)).astype(np.float32))
    seeds["syn_npy"] = (buf.getvalue(), ".npy", "numpy")
    return seeds


def _real_seeds(data: Path) -> dict[str, tuple[bytes, str, str]]:
    """Real recordings of ``../shared/data`` (empty when absent)."""
    seeds: dict[str, tuple[bytes, str, str]] = {}
    if not data.is_dir():
        return seeds
    picks = [("real_ntu", "ntu-rgbd-samples/S001C001P001R001A004.skeleton", ".skeleton", "ntu"),
             ("real_ntu2", "ntu-rgbd-samples/S001C003P008R002A058.skeleton", ".skeleton", "ntu"),
             ("real_pkummd", "pku-mmd-sample/A10N08-L.txt", ".txt", "pkummd"),
             ("real_kinect", "kinect-v2-gestures/Ges01_wavehand.csv", ".csv", "kinect_csv"),
             ("real_cmu_bvh", "cmu-mocap/01_01.bvh", ".bvh", "bvh"),
             ("real_babel", "babel/babel_real_excerpt_sid7692.json", ".json", "babel")]
    for name, rel, ext, reader in picks:
        p = data / rel
        if p.is_file():
            seeds[name] = (p.read_bytes(), ext, reader)
    archive = data / "bandai-namco-motion-1.tar.xz"
    if archive.is_file():
        with tarfile.open(archive) as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(".bvh"):
                    fh = tar.extractfile(member)
                    if fh is not None:
                        seeds["real_bandai_bvh"] = (fh.read(), ".bvh", "bvh")
                        break
    return seeds


# ------------------------------------------------------------------------------------------ mutations
_NUM_RE = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def mutate(seed: bytes, ext: str, kind: str, rng: random.Random) -> bytes:
    """One mutation of ``kind`` (see :data:`MUTATIONS`) applied to ``seed``."""
    data = bytearray(seed)
    n = len(data)
    pos = rng.randrange(max(n, 1))
    if kind == "truncate":
        return bytes(data[:pos])
    if kind == "delete_span":
        del data[pos:pos + rng.randint(1, 200)]
        return bytes(data)
    if kind == "flip_byte":
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(n)] = rng.randrange(256)
        return bytes(data)
    if kind == "insert_bytes":
        data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        return bytes(data)
    if kind in ("nasty_number", "inflate_count"):
        head = bytes(data[: 1 << 16]) if kind == "inflate_count" else bytes(data)
        spans = [m.span() for m in _NUM_RE.finditer(head)]
        if not spans:
            return mutate(seed, ext, "flip_byte", rng)
        if kind == "inflate_count":  # an early integer (a count, a size) made huge or negative
            a, b = spans[rng.randrange(min(len(spans), 12))]
            new = rng.choice([b"4096", b"100000", b"99999999", b"-5", b"0", b"1000000000000"])
        else:
            a, b = spans[rng.randrange(len(spans))]
            new = rng.choice(NASTY_NUMBERS).encode()
        data[a:b] = new
        return bytes(data)
    if kind in ("dup_lines", "drop_lines"):
        lines = bytes(data).split(b"\n")
        i = rng.randrange(len(lines))
        k = rng.randint(1, 50)
        if kind == "dup_lines":
            lines[i:i] = lines[i:i + k] * rng.randint(1, 20)
        else:
            del lines[i:i + k]
        return b"\n".join(lines)
    if kind == "frame_rate":
        return _frame_rate(bytes(data), ext, rng)
    if kind == "deep_nesting":
        depth = rng.choice([2000, 100_000])
        if ext == ".json":
            return b"[" * depth + b"1" + b"]" * depth
        if ext == ".npz":
            buf = io.BytesIO()
            np.savez(buf, data=np.zeros((2, 1, 25, 3), np.float32), layout=np.array("ntu25"),
                     meta_json=np.array("[" * depth + "]" * depth))
            return buf.getvalue()
        # text formats: a huge line of brackets in the middle
        data[pos:pos] = b"{" * depth + b"\n"
        return bytes(data)
    raise ValueError(kind)


def _frame_rate(data: bytes, ext: str, rng: random.Random) -> bytes:
    """Edit whatever sets the frame rate: BVH Frame Time, Kinect timestamps, JSON fps, npz fps."""
    if ext == ".bvh":
        value = rng.choice([b"1000", b"0", b"-0.1", b"1e-9", b"nan", b"1e300", b"100"])
        return re.sub(rb"(Frame Time:\s*)\S+", lambda m: m.group(1) + value, data, count=1)
    if ext == ".csv":
        factor = rng.choice([1000, 10_000_000, 0])
        out = []
        for k, line in enumerate(data.split(b"\n")):
            head, sep, rest = line.partition(b",")
            if sep and head.strip().isdigit():
                head = str(int(head) * factor if factor else 0).encode() if k else head
            out.append(head + sep + rest)
        return b"\n".join(out)
    if ext == ".json":
        try:
            doc = json.loads(data)
        except ValueError:
            return data
        fps = rng.choice([0.001, 1e9, -5, "30", [30], None])
        if isinstance(doc, dict) and "frames" in doc:
            doc["fps"] = fps
        elif isinstance(doc, dict):  # babel: the duration stands in for the time axis
            for entry in doc.values():
                if isinstance(entry, dict):
                    entry["dur"] = rng.choice([86400, 1e9, -1, 0])
        return json.dumps(doc).encode()
    if ext == ".npz":
        buf = io.BytesIO()
        np.savez(buf, data=np.zeros((2, 1, 25, 3), np.float32), layout=np.array("ntu25"),
                 fps=np.array(rng.choice([0.001, 1e9, -1.0, np.inf])))
        return buf.getvalue()
    return data  # formats without a frame rate in the file


SPECIALS = ("dev_zero", "fifo", "directory", "empty", "pipe")


def cases(n: int, seeds: dict[str, tuple[bytes, str, str]]) -> list[dict[str, Any]]:
    """Deterministic cases spread evenly over seeds and mutation kinds, plus the special files.

    The full run has ``max(n, DEFAULT_CASES)`` cases; a smaller ``n`` takes every k-th mutated case of
    that run (so a subset still covers every reader and kind) plus the special files.
    """
    names = sorted(seeds)
    total = max(n, DEFAULT_CASES) - len(SPECIALS)
    mutated = []
    for i in range(total):
        name = names[i % len(names)]
        kind = MUTATIONS[(i // len(names)) % len(MUTATIONS)]
        mutated.append({"id": i, "seed": name, "kind": kind, "rng": i * 7919 + 17})
    specials = [{"id": total + j, "seed": "special", "kind": k, "rng": j} for j, k in enumerate(SPECIALS)]
    if n >= total + len(SPECIALS):
        return mutated + specials
    keep = max(n - len(SPECIALS), 0)
    picked = [mutated[int(i)] for i in np.linspace(0, total - 1, keep).round().astype(int)] if keep else []
    return picked + specials[: n - len(picked)]


# ---------------------------------------------------------------------------------------- child side
def _run_readers(path: Path, reader: str, *, expect_frames: int | None = None) -> dict[str, Any]:
    from skelzoo.errors import FormatError
    from skelzoo.io import babel_frame_labels, read_babel, read_pkummd_labels, read_skeleton

    out_bytes = 0
    info: dict[str, Any] = {}
    calls: list[Callable[[], Any]]
    if reader == "babel":
        def _babel() -> Any:
            anns = read_babel(path)
            return [babel_frame_labels(a, ["walk", "stand", "hop", "jump"]) for a in anns.values()]
        calls = [_babel]
    elif reader == "pkummd_labels":
        calls = [lambda: read_pkummd_labels(path)]
    elif expect_frames is not None:  # a pipe can be read once: detection and reading must share it
        calls = [lambda: read_skeleton(path)]
    else:
        calls = [lambda: read_skeleton(path, format=reader), lambda: read_skeleton(path)]
    try:
        for call in calls:
            res = call()
            if hasattr(res, "layout"):  # a SkeletonSequence: data, confidence and per-frame meta arrays
                arrays = [res.data, res.confidence] + [v for v in res.meta.values() if isinstance(v, np.ndarray)]
                out_bytes = max(out_bytes, sum(int(a.nbytes) for a in arrays if a is not None))
                info.update(fps=float(res.fps), frames=int(res.data.shape[0]))
                if expect_frames is not None and res.data.shape[0] != expect_frames:
                    return {"outcome": "other", "detail": f"data lost: read {res.data.shape[0]} of "
                                                          f"{expect_frames} frames without an error"}
            elif isinstance(res, list):
                out_bytes = max(out_bytes, sum(int(m.nbytes) + int(lab.nbytes) for m, lab in res))
            elif isinstance(res, np.ndarray):
                out_bytes = max(out_bytes, int(res.nbytes))
        return {"outcome": "accepted", "out_bytes": out_bytes, **info}
    except FormatError as e:
        if str(path) not in str(e):
            return {"outcome": "other", "detail": f"FormatError without the file name: {e}"[:300]}
        return {"outcome": "format_error", "detail": str(e).replace(str(path), "<file>")[:300]}
    except MemoryError:
        return {"outcome": "other", "detail": "MemoryError"}
    except BaseException as e:  # noqa: BLE001 - anything else is a finding
        tb = traceback.format_exception_only(type(e), e)[-1].strip()
        return {"outcome": "other", "detail": f"traceback: {tb}"[:300]}


def _prepare_special(kind: str, folder: Path) -> tuple[Path, str, Callable[[], None] | None]:
    """A special input file: ``(path, reader, cleanup)``."""
    if kind == "dev_zero":
        p = folder / "x.skeleton"
        os.symlink("/dev/zero", p)
        return p, "ntu", None
    if kind == "fifo":
        p = folder / "x.skeleton"
        os.mkfifo(p)
        return p, "ntu", None
    if kind == "directory":
        p = folder / "x.bvh"
        p.mkdir()
        return p, "bvh", None
    if kind == "empty":
        p = folder / "x.csv"
        p.write_bytes(b"")
        return p, "kinect_csv", None
    if kind == "pipe":  # like `skelzoo localize <(cat file)`: a pipe with a writer, /dev/fd/N path
        r, w = os.pipe()
        payload = ("\n".join(" ".join(["0.5"] * 150) for _ in range(3000)) + "\n").encode()
        pid = os.fork()
        if pid == 0:  # writer
            os.close(r)
            try:
                os.write(w, payload) if len(payload) < 65536 else _write_all(w, payload)
            finally:
                os._exit(0)
        os.close(w)
        return Path(f"/dev/fd/{r}"), "pkummd", None
    raise ValueError(kind)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


def _child(case: dict[str, Any], seeds: dict[str, tuple[bytes, str, str]], folder: Path, wfd: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    import tracemalloc

    try:
        if case["seed"] == "special":
            path, reader, _ = _prepare_special(case["kind"], folder)
            size = 0
        else:
            payload, ext, reader = seeds[case["seed"]]
            mutated = mutate(payload, ext, case["kind"], random.Random(case["rng"]))
            path = folder / f"case{case['id']}{ext}"
            path.write_bytes(mutated)
            size = len(mutated)
        tracemalloc.start()
        t0 = time.perf_counter()
        expect = 3000 if case["kind"] == "pipe" else None
        result = _run_readers(path, reader, expect_frames=expect)
        result["seconds"] = round(time.perf_counter() - t0, 3)
        result["peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        result["file_bytes"] = size
    except BaseException as e:  # noqa: BLE001
        result = {"outcome": "other", "detail": f"harness child: {type(e).__name__}: {e}"[:300]}
    os.write(wfd, json.dumps(result).encode())
    os._exit(0)


def run_case(case: dict[str, Any], seeds: dict[str, tuple[bytes, str, str]], timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """Run one case in a forked child; returns its result dict (with ``outcome``)."""
    with tempfile.TemporaryDirectory(prefix="skelzoo-mut-") as d:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            _child(case, seeds, Path(d), w)
        os.close(w)
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        timed_out = False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([r], [], [], left)
            if not ready:
                continue
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(r)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    res: dict[str, Any]
    if timed_out:
        res = {"outcome": "other", "detail": f"hang: no result within {timeout:g} s"}
    elif not chunks:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        res = {"outcome": "other", "detail": f"child died (signal {sig}, status {status}): memory limit or crash"}
    else:
        res = json.loads(b"".join(chunks))
    res.update(case)
    res.pop("rng", None)
    if res["outcome"] == "accepted" and "fps" in res and not 1.0 <= res["fps"] <= 1000.0:
        res["implausible_fps"] = True
    peak, size, out = res.get("peak_bytes"), res.get("file_bytes", 0), res.get("out_bytes", 0)
    res["memory_over"] = bool(peak is not None and peak > 8 * size + 4 * out + (32 << 20))
    return res


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    counts = {"tried": len(results), "format_error": 0, "accepted": 0, "other": 0}
    for r in results:
        counts[r["outcome"]] += 1
    counts["hangs"] = sum("hang" in r.get("detail", "") for r in results)
    counts["memory"] = sum(("Memory" in r.get("detail", "")) or ("child died" in r.get("detail", ""))
                           for r in results)
    counts["memory_over_bound"] = sum(r["memory_over"] for r in results)
    counts["accepted_implausible_fps"] = sum(bool(r.get("implausible_fps")) for r in results)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=DEFAULT_CASES, help=f"number of cases (default {DEFAULT_CASES})")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per case (default 30)")
    ap.add_argument("--no-real", action="store_true", help="synthetic seeds only (no ../shared/data)")
    ap.add_argument("--json", type=Path, default=None, help="write the summary and every case here")
    ap.add_argument("--show", type=int, default=25, help="print up to this many non-FormatError cases")
    args = ap.parse_args(argv)

    import skelzoo.io  # noqa: F401  (imported once, before forking)

    seeds = _synthetic_seeds()
    if not args.no_real:
        seeds.update(_real_seeds(SHARED_DATA))
    todo = cases(args.cases, seeds)
    t0 = time.perf_counter()
    results = [run_case(c, seeds, args.timeout) for c in todo]
    summary = summarise(results)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["seeds"] = sorted(seeds)
    summary["skelzoo"] = sys.modules["skelzoo"].__file__
    shown = 0
    for r in results:
        if (r["outcome"] != "format_error" or r["memory_over"]) and shown < args.show:
            shown += 1
            print(f"[{r['outcome']}{' MEM' if r['memory_over'] else ''}] {r['seed']}/{r['kind']}#{r['id']}: "
                  f"{r.get('detail', '')[:160]} {'fps=' + format(r['fps'], 'g') if 'fps' in r else ''}")
    print(json.dumps({k: v for k, v in summary.items() if k != "seeds"}))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "cases": results}, indent=1))
    return 0 if summary["other"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
