"""Model cards: Hub front matter (YAML) + a Markdown body, and a small front-matter reader.

:func:`render_card` is used by :func:`skelzoo.save_pretrained` (a card for any saved model) and by
:mod:`skelzoo.models.published_cards` (the cards of registered checkpoints, ``model_cards/``), so both follow one
layout. The front matter follows the Hugging Face model-card metadata: ``library_name: skelzoo``,
``license`` (an SPDX-like Hub id, or ``other`` + ``license_name``), ``tags``, ``datasets``, ``metrics``,
``pipeline_tag`` and a ``model-index`` holding every metric with its dataset.

YAML is written as block mappings / sequences whose scalars are JSON (valid YAML), so the output parses
with PyYAML and with :func:`parse_front_matter`'s built-in subset reader (used when PyYAML is absent).
"""
from __future__ import annotations

import json
import re
from typing import Any, Mapping, Sequence

__all__ = ["render_card", "front_matter_yaml", "parse_front_matter", "split_front_matter", "slugify",
           "hub_license", "metric_type", "PAPER", "PAPER_BIBTEX"]

PAPER = ("Cheng et al., Skeleton-Snippet Contrastive Learning with Multiscale Feature Fusion for Action "
         "Localization, arXiv 2512.16504 (ICPR 2026)")
PAPER_BIBTEX = """@inproceedings{cheng2026snipclr,
  title     = {Skeleton-Snippet Contrastive Learning with Multiscale Feature Fusion for Action Localization},
  author    = {Cheng, Q. and Liu, J. and Morgan, C. and Whone, A. and Mirmehdi, M.},
  booktitle = {International Conference on Pattern Recognition (ICPR)},
  year      = {2026},
  note      = {arXiv:2512.16504}
}"""

#: licence ids the Hub accepts as ``license:`` (subset relevant here; anything else becomes ``other``).
_HUB_LICENSES = {"apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0",
                 "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "cc0-1.0", "gpl-3.0", "lgpl-3.0",
                 "mpl-2.0", "openrail", "other", "unknown"}
_PIPELINE = {"classification": "video-classification", "features": "feature-extraction",
             "localization": "other"}
_TASK_NAME = {"classification": "Skeleton-based action recognition",
              "features": "Skeleton feature extraction",
              "localization": "Skeleton-based temporal action localization"}


# ---------------------------------------------------------------------------------------------- helpers
def slugify(text: str) -> str:
    """``"NTU RGB+D 60 X-Sub (3D joint)" -> "ntu-rgb-d-60-x-sub-3d-joint"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unspecified"


def hub_license(license: str) -> tuple[str, str | None]:
    """``(hub id, license_name or None)``: a known id stays; anything richer (e.g. code licence + dataset
    terms) is ``other`` with a slug ``license_name`` (the full text goes in the card body)."""
    lic = (license or "unknown").strip()
    if lic.lower() in _HUB_LICENSES:
        return lic.lower(), None
    return "other", slugify(lic)[:64]


def metric_type(key: str) -> str:
    """Hub metric id for a registry metric key (``top1`` -> ``accuracy``, ``mAP@0.5`` -> ``map``)."""
    k = key.lower().replace("-", "").replace("_", "")
    if k.startswith(("top1", "top5", "acc")):
        return "accuracy"
    if k.startswith("map"):
        return "map"
    if k.startswith("f1"):
        return "f1"
    return slugify(key)


_PLAIN_RE = re.compile(r"[A-Za-z][A-Za-z0-9._/+@-]*(?: [A-Za-z0-9._/+@()-]+)*")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _scalar(v: Any) -> str:
    if isinstance(v, bool) or v is None or isinstance(v, (int, float)):
        return json.dumps(v)
    s = str(v)
    if _PLAIN_RE.fullmatch(s) and s.lower() not in _YAML_WORDS:
        return s
    return json.dumps(s, ensure_ascii=False)  # JSON strings are valid YAML double-quoted scalars


def _emit(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            key = k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", str(k)) else json.dumps(str(k))
            if isinstance(v, (Mapping, list, tuple)) and v:
                lines.append(f"{pad}{key}:")
                lines += _emit(v, indent + 2)
            elif isinstance(v, (Mapping, list, tuple)):
                lines.append(f"{pad}{key}: {'{}' if isinstance(v, Mapping) else '[]'}")
            else:
                lines.append(f"{pad}{key}: {_scalar(v)}")
    else:  # sequence
        for item in value:
            if isinstance(item, Mapping) and item:
                sub = _emit(item, indent + 2)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines += sub[1:]
            elif isinstance(item, (list, tuple)) and item:
                lines.append(f"{pad}-")
                lines += _emit(item, indent + 2)
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return lines


def front_matter_yaml(meta: Mapping[str, Any]) -> str:
    """``---`` + block YAML of ``meta`` (insertion order kept) + ``---``."""
    return "\n".join(["---", *_emit(meta, 0), "---"])


# ---------------------------------------------------------------------------------------------- reading
def split_front_matter(text: str) -> tuple[str, str]:
    """``(yaml text, body)`` of a card; ``ValueError`` if it does not start with a ``---`` block."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ValueError("model card has no YAML front matter (the first line must be '---')")
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:])
    raise ValueError("model card front matter is not closed by a '---' line")


def parse_front_matter(text: str) -> dict[str, Any]:
    """Parse a card's front matter to a dict (PyYAML when installed, else a block-YAML subset reader).

    Raises:
        ValueError: no front matter, or YAML this reader cannot parse (says which line).
    """
    yml, _ = split_front_matter(text)
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        data = _parse_yaml_subset(yml)
    else:
        try:
            data = yaml.safe_load(yml)
        except yaml.YAMLError as e:
            raise ValueError(f"model card front matter is not valid YAML: {' '.join(str(e).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"model card front matter must be a mapping, got {type(data).__name__}")
    return data


_KEY_RE = re.compile(r"""^("(?:[^"\\]|\\.)*"|'[^']*'|[^:#'"][^:#]*?)\s*:(?:\s+(.*)|\s*)$""")


def _plain(text: str, lineno: int) -> Any:
    s = text.strip()
    if s.startswith('"'):
        try:
            return json.loads(s)
        except ValueError:
            raise ValueError(f"front matter line {lineno}: bad double-quoted scalar {s!r}") from None
    if s.startswith("'"):
        if not s.endswith("'") or len(s) < 2:
            raise ValueError(f"front matter line {lineno}: unterminated single-quoted scalar {s!r}")
        return s[1:-1].replace("''", "'")
    if " #" in s:
        s = s.split(" #", 1)[0].rstrip()
    if s.startswith("[") and s.endswith("]"):
        inner = s[1:-1].strip()
        return [_plain(p, lineno) for p in inner.split(",")] if inner else []
    if s == "{}":
        return {}
    if s in ("null", "~", ""):
        return None
    if s in ("true", "True"):
        return True
    if s in ("false", "False"):
        return False
    if re.fullmatch(r"[-+]?\d+", s):
        return int(s)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?", s):
        return float(s)
    return s


def _parse_yaml_subset(text: str) -> Any:
    """Block mappings/sequences with scalar leaves (what :func:`front_matter_yaml` and typical cards use)."""
    rows = []
    for n, raw in enumerate(text.splitlines(), start=2):  # line 1 is the opening '---'
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError(f"front matter line {n}: tabs are not allowed for indentation")
        rows.append([len(raw) - len(raw.lstrip()), raw.strip(), n])
    if not rows:
        return None
    value, i = _block(rows, 0, rows[0][0])
    if i != len(rows):
        raise ValueError(f"front matter line {rows[i][2]}: unexpected indentation")
    return value


def _block(rows: list, i: int, indent: int) -> tuple[Any, int]:
    if rows[i][1] == "-" or rows[i][1].startswith("- "):
        return _seq(rows, i, indent)
    return _map(rows, i, indent)


def _seq(rows: list, i: int, indent: int) -> tuple[list, int]:
    out: list = []
    while i < len(rows) and rows[i][0] == indent and (rows[i][1] == "-" or rows[i][1].startswith("- ")):
        rest = rows[i][1][1:].lstrip()
        if not rest:
            if i + 1 < len(rows) and rows[i + 1][0] > indent:
                v, i = _block(rows, i + 1, rows[i + 1][0])
            else:
                v, i = None, i + 1
        elif _KEY_RE.match(rest) and not rest.startswith("["):
            rows[i] = [indent + len(rows[i][1]) - len(rest), rest, rows[i][2]]
            v, i = _map(rows, i, rows[i][0])
        else:
            v, i = _plain(rest, rows[i][2]), i + 1
        out.append(v)
    return out, i


def _map(rows: list, i: int, indent: int) -> tuple[dict, int]:
    out: dict = {}
    while i < len(rows) and rows[i][0] == indent and not rows[i][1].startswith("- ") and rows[i][1] != "-":
        m = _KEY_RE.match(rows[i][1])
        if not m:
            raise ValueError(f"front matter line {rows[i][2]}: expected 'key: value', got {rows[i][1]!r}")
        key = _plain(m.group(1), rows[i][2]) if m.group(1)[0] in "\"'" else m.group(1)
        if m.group(2) is not None and m.group(2).strip():
            out[key] = _plain(m.group(2), rows[i][2])
            i += 1
            continue
        i += 1
        nxt = rows[i] if i < len(rows) else None
        if nxt is not None and (nxt[0] > indent or (nxt[0] == indent and (nxt[1].startswith("- ") or nxt[1] == "-"))):
            out[key], i = _block(rows, i, nxt[0])
        else:
            out[key] = None
    if i < len(rows) and rows[i][0] > indent:
        raise ValueError(f"front matter line {rows[i][2]}: unexpected indentation")
    return out, i


# ---------------------------------------------------------------------------------------------- card
def card_metadata(*, name: str, task: str, license: str, metrics: Mapping[str, float],
                  datasets: Sequence[str] = (), tags: Sequence[str] = (),
                  dataset_names: Sequence[str] = ()) -> dict[str, Any]:
    """The front-matter mapping of a card (see the module docstring)."""
    lic, lic_name = hub_license(license)
    all_tags = ["skelzoo", "skeleton", "skeleton-based-action-recognition" if task != "localization" else
                "temporal-action-localization", "gcn", "pytorch", "safetensors", *tags]
    meta: dict[str, Any] = {"library_name": "skelzoo", "license": lic}
    if lic_name:
        meta["license_name"] = lic_name
    meta["tags"] = list(dict.fromkeys(all_tags))
    slugs = [slugify(d) for d in datasets]
    if slugs:
        meta["datasets"] = list(dict.fromkeys(slugs))
    if metrics:
        meta["metrics"] = list(dict.fromkeys(metric_type(k) for k in metrics))
    meta["pipeline_tag"] = _PIPELINE.get(task, "other")
    if metrics:
        ds_name = (dataset_names[0] if dataset_names else (datasets[0] if datasets else "unspecified"))
        meta["model-index"] = [{
            "name": name,
            "results": [{
                "task": {"type": _PIPELINE.get(task, "other"), "name": _TASK_NAME.get(task, task)},
                "dataset": {"name": ds_name, "type": slugs[0] if slugs else slugify(ds_name)},
                "metrics": [{"type": metric_type(k), "name": str(k), "value": float(v)}
                            for k, v in metrics.items()],
            }],
        }]
    return meta


def render_card(config: Mapping[str, Any], *, num_params: int, sha256: str, metrics: Mapping[str, float],
                extra: str = "", license: str = "other", datasets: tuple[str, ...] = (),
                tags: tuple[str, ...] = (), usage: str | None = None,
                details: Mapping[str, str] | None = None, citations: Sequence[str] = ()) -> str:
    """A Markdown model card with Hub front matter (``library_name: skelzoo``, tags, licence, metrics).

    Args:
        config: the ``config.json`` mapping (``architecture``, ``tag``, ``task``, ``in_channels``,
            ``layout``, ``num_classes``, ``class_names``, ``skelzoo_version``).
        num_params / sha256: shown in the details table (sha256 of ``model.safetensors``).
        metrics: ``{name: value}``; written to the ``model-index`` and a table.
        extra: Markdown inserted after the usage section (hand-written notes).
        license: licence of the weights (a Hub id, or free text -> ``license: other``).
        datasets: dataset names (slugified for the front matter; the first is the model-index dataset).
        tags: extra Hub tags.
        usage: Python usage snippet (default: loading from a local folder or the Hub).
        details: extra rows for the details table.
        citations: BibTeX entries (the SnipCLR paper is always cited first).
    """
    arch = config["architecture"]
    name = f"{arch}.{config['tag']}" if config.get("tag") else arch
    task = config.get("task") or "features"
    meta = card_metadata(name=name, task=task, license=license, metrics=metrics, datasets=datasets,
                         tags=tags)
    lines = [front_matter_yaml(meta), "", f"# {name}", "",
             f"A skelzoo `{arch}` checkpoint "
             f"({_TASK_NAME.get(task, task).lower()}).", "",
             "| field | value |", "|---|---|",
             f"| architecture | `{arch}` |",
             f"| task | {task} |",
             f"| parameters | {num_params:,} |",
             f"| input | `(N, {config.get('in_channels')}, T, V, M)` float32, layout `{config.get('layout')}` |"]
    k = config.get("num_classes")
    out = ("frame logits `(N, T, K)`, K = classes + 1 (background last)" if task == "localization" else
           "clip logits `(N, num_classes)`" if k else "pooled features `(N, D)`")
    lines += [f"| output | {out} |", f"| classes | {k} |"]
    for key, val in (details or {}).items():
        lines.append(f"| {key} | {val} |")
    lines += [f"| licence | {license} |",
              f"| sha256 of model.safetensors | `{sha256}` |" if sha256 else
              "| sha256 of model.safetensors | not published (converted on first use) |"]
    if config.get("skelzoo_version"):
        lines.append(f"| skelzoo version | {config.get('skelzoo_version')} |")
    lines.append("")
    if config.get("class_names"):
        lines += ["<details><summary>Class names</summary>", "",
                  ", ".join(f"`{c}`" for c in config["class_names"]), "", "</details>", ""]
    if metrics:
        ds = f" on {datasets[0]}" if datasets else ""
        lines += ["## Metrics", "", f"Results{ds}:", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in metrics.items()] + [""]
    lines += ["## Usage", "", "```python", "import skelzoo", ""]
    lines += [usage.rstrip()] if usage else [
        'model = skelzoo.load_model("local-dir:PATH")  # or "hf-hub:ORG/REPO"']
    lines += ["```", ""]
    if extra:
        lines += [extra.strip(), ""]
    lines += ["## Citation", "", "skelzoo (SnipCLR): " + PAPER, "", "```bibtex", PAPER_BIBTEX]
    for c in citations:
        if c.strip() and c.strip() != PAPER_BIBTEX:
            lines += ["", c.strip()]
    lines += ["```", ""]
    return "\n".join(lines)
