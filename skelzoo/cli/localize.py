"""``skelzoo localize INPUT... [--model NAME] [--out FILE.json] [--plot FILE.png]``."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

from ..models import DEFAULT_LOCALIZER as DEFAULT_MODEL  # bundled, runs offline
from ..models import DEFAULT_LOCALIZER_2D as DEFAULT_MODEL_2D  # bundled, for 2-D keypoints
from ._table import format_table, want_table
from .main import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("localize", help="localize actions (what, from when to when) in recordings",
                       description="Read each recording, run a localization model, decode frame scores "
                                   "into segments and print them: a table on a terminal, JSON when piped or "
                                   "with --json / --out (frames and seconds of the recording). A bad file is "
                                   "reported and skipped; the exit status is then 2.")
    p.add_argument("inputs", nargs="*", type=Path,
                   help="skeleton files (.skeleton, .txt, .csv, .bvh, .npy/.npz, .json) or folders")
    p.add_argument("--example", action="store_true",
                   help="localize the bundled example recording (synthesised by skelzoo; ground truth known)")
    p.add_argument("--model", default=None,
                   help=f"localizer name, arch.tag, hf-hub: or local-dir: (default: chosen per recording: "
                        f"{DEFAULT_MODEL} for 3-D skeletons, {DEFAULT_MODEL_2D} for 2-D keypoints of a video pose "
                        f"estimator; both bundled)")
    p.add_argument("--decoder", default="argmax", choices=("argmax", "official"),
                   help="argmax (default) = run-length segments of the smoothed frame argmax, one label per frame; "
                        "official = the paper's multi-threshold proposals + NMS (overlapping, ranked: for mAP)")
    p.add_argument("--smoothing", type=int, default=5, help="argmax: moving-average window in frames (default 5)")
    p.add_argument("--min-duration", type=int, default=8,
                   help="argmax: drop segments shorter than this many frames (default 8)")
    p.add_argument("--format", default=None, help="input format (default: inferred)")
    p.add_argument("--fps", type=float, default=None, help="override the recording's frame rate")
    add_model_fps_argument(p)
    p.add_argument("--out", type=Path, default=None, help="write the JSON result here too")
    p.add_argument("--json", action="store_true", help="print JSON on stdout even on a terminal")
    p.add_argument("--table", action="store_true", help="print the table even when stdout is not a terminal")
    p.add_argument("--write-gt", type=Path, default=None, metavar="FILE",
                   help="with --example: write the example's ground truth as JSON, to try `skelzoo evaluate "
                        "result.json FILE`")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="log each step (reading, format, resampling, preprocessing, decoding) to stderr")
    p.add_argument("--plot", type=Path, default=None, help="timeline image of the segments (needs matplotlib)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.set_defaults(func=run)


def add_model_fps_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-fps", type=float, default=None, metavar="FPS",
                   help="resample each recording to this frame rate before the model (default: the rate the "
                        "model expects: its registered fps, else 30, the rate of skelzoo's training data); "
                        "0 = never resample. Results stay in the recording's frames and seconds; the JSON "
                        "gives both rates (fps = the recording's, model_fps = the one the model ran at)")


def model_rate(args: argparse.Namespace, model, name: str | None = None) -> float | None:
    """``--model-fps`` -> the rate to resample to (``None``: keep each recording's)."""
    from ..localization.pipeline import resolve_model_fps

    return resolve_model_fps(model, "auto" if args.model_fps is None else args.model_fps,
                             name=resolve_model_name(name or args.model))


def default_model_for(seq: Any) -> str:
    """The bundled default for a recording: the 2-D localizer for 2-D keypoints, else the 3-D one."""
    from ..localization.input_spec import is_keypoints_2d

    return DEFAULT_MODEL_2D if is_keypoints_2d(seq) else DEFAULT_MODEL


class ModelChoice:
    """The model(s) of one ``localize`` / ``extract`` call: ``--model`` for every recording, else the bundled
    default that fits each recording (:func:`default_model_for`; a note on stderr when the 2-D one is taken).
    Each model is loaded once."""

    def __init__(self, args: argparse.Namespace, command: str, *, need_localizer: bool = True) -> None:
        self.args, self.command, self.need_localizer = args, command, need_localizer
        self.loaded: dict[str, tuple[Any, float | None]] = {}
        if args.model is not None:
            self.get(args.model)  # a bad --model fails before any file is read

    def get(self, name: str) -> tuple[Any, float | None]:
        """``(model, rate)`` of ``name`` (loaded on first use)."""
        if name not in self.loaded:
            model = load_cli_model(name, self.args.device, need_localizer=self.need_localizer)
            self.loaded[name] = (model, model_rate(self.args, model, name))
        return self.loaded[name]

    def for_sequence(self, name: str, seq: Any) -> tuple[str, Any, float | None]:
        """``(model name, model, rate)`` for the recording ``name``."""
        chosen = self.args.model or default_model_for(seq)
        if self.args.model is None and chosen == DEFAULT_MODEL_2D:
            print(f"skelzoo {self.command}: note: {name} holds 2-D keypoints (layout {seq.layout}): using the "
                  f"2-D default model {DEFAULT_MODEL_2D} (--model picks another)", file=sys.stderr)
        return (chosen, *self.get(chosen))

    @property
    def first(self) -> tuple[str, Any]:
        """The first model used (or ``--model``, or the 3-D default): what the result's header shows."""
        if not self.loaded:
            self.get(self.args.model or DEFAULT_MODEL)
        name = next(iter(self.loaded))
        return name, self.loaded[name][0]


def resolve_model_name(name: str) -> str:
    """``--model``: a bare folder written by ``save_pretrained`` / training becomes ``local-dir:FOLDER``."""
    if name.startswith(("hf-hub:", "local-dir:")):
        return name
    path = Path(name).expanduser()
    if path.is_dir():
        return f"local-dir:{path}"
    if "/" in name or "\\" in name or name.startswith("."):
        raise FileNotFoundError(f"--model {name}: no such folder (a model folder holds config.json and "
                                f"model.safetensors; a registered model is named arch or arch.tag)")
    return name


def load_cli_model(name: str, device: str, *, need_localizer: bool = True):
    """Load a model for the CLI: registry names get their (default) weights, never random ones; a folder
    is read as ``local-dir:``."""
    from ..models import get_entry, load_model, split_name

    name = resolve_model_name(name)
    is_path = name.startswith("hf-hub:") or name.startswith("local-dir:")
    if not is_path:
        entry = get_entry(split_name(name)[0])
        if need_localizer and entry.task != "localization":
            raise ValueError(f"{name!r} is a {entry.task} model; localize needs a localization model "
                             f"(see `skelzoo list --pretrained '*_ufusion*'`)")
    model = load_model(name, pretrained=not is_path and "." not in name, device=device)
    if need_localizer and getattr(model, "task", None) != "localization":
        raise ValueError(f"{name!r} is not a localization model (task {getattr(model, 'task', None)!r})")
    return model


def recording_jobs(args: argparse.Namespace) -> list[tuple[str, Any, Any]]:
    """``(name, SkeletonSequence or Path, ground-truth labels or None)`` of ``--example`` and every INPUT
    (folders expanded to the recordings in them); files are read later, one at a time, so that a bad one
    does not stop the others (shared by ``localize`` and ``extract``)."""
    if not args.inputs and not args.example:
        raise ValueError("give at least one INPUT file, or --example")
    from ._checks import check_fps_option, check_model_fps_option
    check_fps_option(args.fps)
    check_model_fps_option(args.model_fps)
    jobs: list[tuple[str, Any, Any]] = []
    if args.example:
        from ..data.synth import example_sequence
        seq, labels = example_sequence()
        seq.meta.setdefault("format", "synthetic")
        seq.meta.setdefault("source", "example")
        jobs.append(("example", seq, labels))
    for path in args.inputs:
        if path.is_dir():
            from ..io import find_recordings
            found = [(str(f), f, None) for f in find_recordings([path])]
            if not found:
                raise FileNotFoundError(f"{path}: a folder without skeleton recordings")
            jobs += found
        else:
            jobs.append((str(path), path, None))
    return jobs


def read_recordings(args: argparse.Namespace) -> list[tuple[str, Any, Any]]:
    """Like :func:`recording_jobs`, with every file read (the first bad file raises)."""
    from ..localization.input_spec import as_sequence

    out = []
    for name, src, labels in recording_jobs(args):
        seq = as_sequence(_existing(src), format=args.format)
        if args.fps is not None:
            seq = seq.replace(fps=float(args.fps))
        out.append((name, seq, labels))
    return out


def _existing(src: Any) -> Any:
    if isinstance(src, Path) and not src.exists():
        raise FileNotFoundError(f"{src}: no such file")
    return src


def one_line(e: BaseException) -> str:
    msg = str(e).strip()
    return msg.splitlines()[0] if msg else type(e).__name__


def set_verbose(args: argparse.Namespace) -> None:
    if getattr(args, "verbose", False):
        logging.getLogger("skelzoo").setLevel(logging.INFO)


def run_each(args: argparse.Namespace, command: str, work) -> tuple[list[Any], list[dict[str, str]]]:
    """Run ``work(name, source, labels)`` on every recording job; a failing file is reported on stderr
    (``skelzoo COMMAND: error: FILE: ...``) and skipped; warnings about implausible recordings are printed
    as ``skelzoo COMMAND: warning: ...``. Returns the results and the failures."""
    from ..errors import SkelzooError

    done, failed = [], []
    for name, src, labels in recording_jobs(args):
        caught: list = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                out = work(name, _existing(src), labels)
        except (SkelzooError, ValueError, OSError, KeyError, TypeError) as e:
            msg = one_line(e)
            if not msg.startswith(name):
                msg = f"{name}: {msg}"
            print(f"skelzoo {command}: error: {msg}", file=sys.stderr)
            failed.append({"input": name, "error": msg})
            continue
        finally:
            for w in caught:
                print(f"skelzoo {command}: warning: {w.message}", file=sys.stderr)
        done.append(out)
    if failed and len(failed) + len(done) > 1:  # one input: its error line says it all
        print(f"skelzoo {command}: {len(failed)} of {len(failed) + len(done)} input(s) failed: "
              f"{', '.join(f['input'] for f in failed)}", file=sys.stderr)
    return done, failed


def run(args: argparse.Namespace) -> int:
    from ..localization.decode import decoder_params
    from ..localization.pipeline import localize_sequence

    set_verbose(args)
    if args.write_gt and not args.example:
        raise ValueError("--write-gt writes the ground truth of --example; add --example")
    recording_jobs(args)  # argument errors before the model is loaded
    models = ModelChoice(args, "localize")
    params = decoder_params(args.decoder, {"smoothing": args.smoothing, "min_duration": args.min_duration}
                            if args.decoder == "argmax" else {})

    from ..localization.input_spec import as_sequence
    from ._checks import check_rate

    def work(name: str, src: Any, labels: Any):
        seq = as_sequence(_existing(src), format=args.format)
        model_name, model, rate = models.for_sequence(name, seq)
        check_rate(name, seq, rate, args.fps)
        res = localize_sequence(model, seq, name=name, method=args.decoder, model_fps=rate, fps=args.fps,
                                **params)
        entry = {"model": model_name, **res.to_dict()}
        if labels is not None:
            gt = _labels_to_segments(labels, class_names(model), res.fps)
            entry["ground_truth"] = [g.to_dict() for g in gt]
            entry["mAP"] = _example_map(res.segments, gt)
        return res, labels, entry, model

    done, failed = run_each(args, "localize", work)
    model_name, model = models.first
    cfg = model.skelzoo_config
    doc: dict[str, Any] = {
        "model": model_name, "architecture": cfg["architecture"], "tag": cfg.get("tag"),
        "input_spec": model.input_spec.to_dict(), "class_names": list(model.class_names),
        "decoder": args.decoder, "decoder_params": params or "paper defaults",
        "results": [e for _, _, e, _ in done]}
    if failed:
        doc["failed"] = failed
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=2) + "\n")
    if args.write_gt:
        _write_gt(args.write_gt, done)
    if args.plot and done:
        paths = _plot_paths(args.plot, [res.input for res, _, _, _ in done])
        _plot([(res, labels, m) for res, labels, _, m in done], paths)
        doc["plot"] = [str(p) for p in paths]
    if args.table or want_table(args.json):
        print(render_table(doc))
    else:
        print_json(doc)
    return 2 if failed else 0


def class_names(model: Any) -> list[str]:
    """The model's foreground class names (``"0"``, ``"1"``, ... when it has none)."""
    return list(model.class_names) or [str(i) for i in range(model.num_classes)]


def render_table(doc: dict[str, Any]) -> str:
    """The terminal output of ``skelzoo localize``: per recording a summary line and its segments (and, for
    the example, the ground truth and the segment mAP); then one table of all segments."""
    params = doc["decoder_params"]
    params = ", ".join(f"{k} {v}" for k, v in params.items()) if isinstance(params, dict) else params
    spec = doc["input_spec"]
    lines = [f"model {doc['model']} ({spec['layout']}, {spec['fps']:g} fps, preprocessing "
             f"{spec['preprocess'] or 'none'}); decoder {doc['decoder']} ({params})", ""]
    rows = []
    for r in doc["results"]:
        lines.append(f"{r['input']}: {r['format'] or '?'}, layout {r['layout']}, {r['num_persons']} person(s), "
                     f"{r['num_frames']} frames at {r['fps']:g} fps ({r['duration_s']:.1f} s)"
                     + (f", run at {r['model_fps']:g} fps" if r["model_fps"] != r["fps"] else "")
                     + (f", model {r['model']}" if r.get("model", doc["model"]) != doc["model"] else ""))
        for w in r.get("warnings", []):
            lines.append(f"  warning: {w}")
        if not r["segments"]:
            rows.append([r["input"], "(no action found)", "", "", ""])
        for s in r["segments"]:
            rows.append([r["input"], s["name"], f"{s['start_s']:.2f}-{s['end_s']:.2f}", f"{s['start']}-{s['end']}",
                         f"{s['score']:.3f}"])
    lines.append("")
    lines.append(format_table(["file", "class", "start-end (s)", "frames [start, end)", "score"], rows,
                              align="llrrr"))
    for r in doc["results"]:
        if "ground_truth" in r:
            lines += ["", f"ground truth of {r['input']} (the script it was synthesised from):"]
            gt_rows = [[g["name"], f"{g['start_s']:.2f}-{g['end_s']:.2f}", f"{g['start']}-{g['end']}"]
                       for g in r["ground_truth"]]
            lines.append(format_table(["class", "start-end (s)", "frames [start, end)"], gt_rows, align="lrr"))
            m = r["mAP"]
            lines.append(f"segment mAP of the prediction ({m['protocol']} protocol): "
                         + ", ".join(f"{t} {v:.1f}" for t, v in m["mAP"].items())
                         + f"; average {m['average_mAP']:.1f}")
    for f in doc.get("failed", []):
        lines.append(f"failed: {f['error']}")
    if doc.get("plot"):
        lines.append("timeline: " + ", ".join(doc["plot"]))
    return "\n".join(lines)


def _example_map(segments: list, gt: list) -> dict[str, Any]:
    """Segment mAP (clean protocol, tIoU 0.1-0.5) of one recording's segments against its ground truth."""
    from ..evaluation.segment_map import segment_map

    pred = [[(s.label, s.start, s.end, s.score) for s in segments]]
    res = segment_map(pred, gt_segments=[[(g.label, g.start, g.end) for g in gt]]).to_dict()
    return {"protocol": res.get("protocol", "clean"), "mAP": res["mAP"], "average_mAP": res["average_mAP"]}


def _write_gt(path: Path, done: list) -> None:
    videos, names = {}, []
    for res, labels, entry, model in done:
        if labels is not None:
            names = class_names(model)
            videos[res.input] = {"num_frames": res.num_frames, "fps": res.fps,
                                 "segments": [{k: g[k] for k in ("label", "name", "start", "end")}
                                              for g in entry["ground_truth"]]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"class_names": names, "videos": videos}, indent=2) + "\n")


def _plot_paths(path: Path, inputs: list[str]) -> list[Path]:
    """One picture per input: ``path`` itself for one input, else ``STEM_<input name>.SUFFIX``."""
    if len(inputs) == 1:
        return [path]
    out: list[Path] = []
    for name in inputs:
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(name).stem) or "input"
        p = path.with_name(f"{path.stem}_{stem}{path.suffix}")
        k = 2
        while p in out:
            p = path.with_name(f"{path.stem}_{stem}_{k}{path.suffix}")
            k += 1
        out.append(p)
    return out


def _plot(results, paths: list[Path]) -> None:
    from ..viz import plot_timeline

    for (res, labels, model), p in zip(results, paths):
        names = class_names(model)
        gt = None
        if labels is not None:
            gt = _labels_to_segments(labels, names, res.fps)
        plot_timeline(res.segments, res.num_frames, res.fps, names, p, ground_truth=gt,
                      title=f"{res.input} — {model.skelzoo_config['architecture']}")


def _labels_to_segments(labels: list[str], names: list[str], fps: float):
    """Per-frame action names -> ground-truth segments of the classes the model knows."""
    from ..localization.segments import segments_from_frame_labels

    return segments_from_frame_labels(labels, names, fps)
