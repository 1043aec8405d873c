"""Model cards of registered checkpoints (``model_cards/<arch>.<tag>.md``).

Each card = front matter and facts generated from the registry (:class:`~skelzoo.models.WeightCfg`:
licence, dataset, metrics, source, input, sha256) + a hand-written part kept beside the cards:

    model_cards/_handwritten/<arch>.<tag>.md          one checkpoint (wins), or
    model_cards/_handwritten/<arch>.<preprocess>.md   the checkpoints of an architecture with that input
                                                      preprocessing (e.g. ``stgcn.pyskl_2d.md``), or
    model_cards/_handwritten/<arch>.md                every checkpoint of an architecture (converted families)

A hand-written part holds four ``## `` sections, in any order: ``Intended use``, ``Training data and
licence``, ``Limitations`` and ``Evaluation`` (it may add more, e.g. ``Notes``). ``{name}``, ``{arch}``,
``{tag}``, ``{dataset}`` and ``{metrics}`` in it are replaced per checkpoint. Citations are generated: the
SnipCLR paper (Cheng et al., arXiv 2512.16504, ICPR 2026) and the backbone's paper (BibTeX below).

``scripts/make_model_cards.py`` writes the cards; ``--check`` fails when a card is missing, stale, lacks
its hand-written part or still holds a ``TODO``. Functions here take explicit ``(arch, WeightCfg)`` lists
so tests can render cards for checkpoints that are not registered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import torch

from ..hub.model_card import render_card
from ._registry import get_entry, list_architectures, model_task
from ._weights import WeightCfg

__all__ = ["CardSpec", "registered_specs", "render_checkpoint_card", "handwritten_path", "stub_handwritten",
           "generate_cards", "check_cards", "write_cards", "REQUIRED_SECTIONS", "BACKBONE_BIBTEX"]

REQUIRED_SECTIONS = ("Intended use", "Training data and licence", "Limitations", "Evaluation")
HANDWRITTEN_DIR = "_handwritten"

#: BibTeX of each backbone family (``ModelEntry.family`` = the module name) and of the toolboxes whose
#: training recipes produced converted checkpoints.
BACKBONE_BIBTEX: dict[str, str] = {
    "stgcn": """@inproceedings{yan2018stgcn,
  title     = {Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action Recognition},
  author    = {Yan, Sijie and Xiong, Yuanjun and Lin, Dahua},
  booktitle = {AAAI Conference on Artificial Intelligence},
  year      = {2018}
}""",
    "agcn": """@inproceedings{shi2019agcn,
  title     = {Two-Stream Adaptive Graph Convolutional Networks for Skeleton-Based Action Recognition},
  author    = {Shi, Lei and Zhang, Yifan and Cheng, Jian and Lu, Hanqing},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2019}
}""",
    "aagcn": """@article{shi2020aagcn,
  title   = {Skeleton-Based Action Recognition with Multi-Stream Adaptive Graph Convolutional Networks},
  author  = {Shi, Lei and Zhang, Yifan and Cheng, Jian and Lu, Hanqing},
  journal = {IEEE Transactions on Image Processing},
  year    = {2020}
}""",
    "ctrgcn": """@inproceedings{chen2021ctrgcn,
  title     = {Channel-wise Topology Refinement Graph Convolution for Skeleton-Based Action Recognition},
  author    = {Chen, Yuxin and Zhang, Ziqi and Yuan, Chunfeng and Li, Bing and Deng, Ying and Hu, Weiming},
  booktitle = {IEEE/CVF International Conference on Computer Vision (ICCV)},
  year      = {2021}
}""",
    "msg3d": """@inproceedings{liu2020msg3d,
  title     = {Disentangling and Unifying Graph Convolutions for Skeleton-Based Action Recognition},
  author    = {Liu, Ziyu and Zhang, Hongwen and Chen, Zhenghao and Wang, Zhiyong and Ouyang, Wanli},
  booktitle = {IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2020}
}""",
    "pyskl": """@inproceedings{duan2022pyskl,
  title     = {PYSKL: Towards Good Practices for Skeleton Action Recognition},
  author    = {Duan, Haodong and Wang, Jiaqi and Chen, Kai and Lin, Dahua},
  booktitle = {ACM International Conference on Multimedia (ACM MM)},
  year      = {2022}
}""",
    "mmaction2": """@misc{mmaction2,
  title        = {OpenMMLab's Next Generation Video Understanding Toolbox and Benchmark},
  author       = {MMAction2 Contributors},
  howpublished = {\\url{https://github.com/open-mmlab/mmaction2}},
  year         = {2020}
}""",
}
BACKBONE_BIBTEX["stgcnpp"] = BACKBONE_BIBTEX["pyskl"]


@dataclass(frozen=True)
class CardSpec:
    """One checkpoint to describe: architecture name + its weight record."""

    arch: str
    weights: WeightCfg

    @property
    def name(self) -> str:
        return f"{self.arch}.{self.weights.tag}"


def registered_specs(pattern: str = "*") -> list[CardSpec]:
    """Every registered checkpoint (``list_models(pretrained=True)``) as a :class:`CardSpec`."""
    from ._registry import list_models

    out = []
    for name in list_models(pattern, pretrained=True):
        arch, _, tag = name.partition(".")
        out.append(CardSpec(arch, get_entry(arch).weights[tag]))
    return out


# ---------------------------------------------------------------------------------------------- pieces
def _backbone_arch(arch: str) -> str:
    entry = get_entry(arch)
    if entry.task == "localization":
        for suffix in ("_ufusion", "_simple"):
            if arch.endswith(suffix) and arch[: -len(suffix)] in list_architectures():
                return arch[: -len(suffix)]
    return arch


def citations_for(arch: str, w: WeightCfg) -> list[str]:
    """BibTeX entries: the backbone family, then the toolbox that trained converted weights."""
    fam = get_entry(_backbone_arch(arch)).family
    out = [BACKBONE_BIBTEX[fam]] if fam in BACKBONE_BIBTEX else []
    if w.convert_source in ("pyskl", "mmaction2") or arch.endswith("_pyskl"):
        out.append(BACKBONE_BIBTEX["pyskl"])
    if w.convert_source == "mmaction2":
        out.append(BACKBONE_BIBTEX["mmaction2"])
    return list(dict.fromkeys(out))


def _config(arch: str, w: WeightCfg) -> tuple[dict, int]:
    from ._builder import build_model

    with torch.device("meta"):
        model = build_model(arch, **dict(w.model_args))
    task = model_task(arch, model)
    cfg = {"architecture": arch, "tag": w.tag, "task": task, "model_args": dict(w.model_args),
           "in_channels": getattr(model, "in_channels", w.in_channels),
           "layout": getattr(model, "layout", w.layout), "num_classes": getattr(model, "num_classes", None),
           "class_names": list(w.class_names)}
    return cfg, sum(p.numel() for p in model.parameters())


def _usage(spec: CardSpec, task: str) -> str:
    w = spec.weights
    lines = [f'model = skelzoo.load_model("{spec.name}")  # weights: {w.location}']
    if w.hf_hub_id:
        rev = f"@{w.revision}" if w.revision else ""
        lines.append(f'# or, by Hub repo: skelzoo.load_model("hf-hub:{w.hf_hub_id}{rev}")')
    lines.append('seq = skelzoo.read_skeleton("recording.skeleton")  # NTU, PKU-MMD, Kinect CSV, BVH, npz, JSON')
    lines.append(f"x, rate = skelzoo.prepare(seq, model)  # the weights' preprocessing: (1, {w.in_channels}, T, V, "
                 f"{w.num_person or 1}), layout {w.layout}")
    if task == "localization":
        lines += ["logits = model(x)                      # (1, T, K), background last",
                  "segments = model.localize(seq)[0]      # Segments in the recording's frames and seconds"]
    elif not w.class_names and int(w.model_args.get("num_classes", 1)) == 0:
        lines += ["feats = model(x)                       # (1, D) pooled features",
                  "fmap = model.forward_features(x)      # (1, D, T', V, M)"]
    else:
        lines += ["logits = model(x)                      # (1, num_classes)",
                  "feats = model.forward_features(x)     # (1, D, T', V, M)"]
    return "import skelzoo\n" + "\n".join(lines)


def handwritten_path(cards_dir: Path, spec: CardSpec) -> Path | None:
    """The hand-written part of ``spec`` (per checkpoint first, then per architecture and input preprocessing,
    e.g. ``stgcn.pyskl_2d.md`` for the 2-D keypoint checkpoints, then per architecture), or None."""
    base = Path(cards_dir) / HANDWRITTEN_DIR
    by_input = [base / f"{spec.arch}.{spec.weights.preprocess}.md"] if spec.weights.preprocess else []
    for p in (base / f"{spec.name}.md", *by_input, base / f"{spec.arch}.md"):
        if p.is_file():
            return p
    return None


def _sections(text: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^##\s+(.+?)\s*$", text, flags=re.M)]


def _fill(text: str, spec: CardSpec) -> str:
    w = spec.weights
    metrics = ", ".join(f"{k} {v}" for k, v in w.metrics.items()) or "none recorded"
    values = {"name": spec.name, "arch": spec.arch, "tag": w.tag, "dataset": w.dataset or "unspecified",
              "metrics": metrics}
    return re.sub(r"\{(name|arch|tag|dataset|metrics)\}", lambda m: values[m.group(1)], text)


def stub_handwritten(spec: CardSpec) -> str:
    """A hand-written part to start from (``TODO`` markers make ``--check`` fail until filled in)."""
    w = spec.weights
    return "\n".join([
        f"<!-- hand-written part of the model card of {spec.name} (see skelzoo/models/published_cards.py) -->", "",
        "## Intended use", "", f"TODO: what {spec.name} is for, and what it is not for.", "",
        "## Training data and licence", "",
        f"TODO: trained on {w.dataset or 'TODO'}; weights licence: {w.license}. Say which terms apply.", "",
        "## Limitations", "", "TODO: known failure modes (pose estimator, camera views, layouts, persons).", "",
        "## Evaluation", "", "TODO: how {metrics} were obtained (protocol, clips, split).", "",
    ])


# ---------------------------------------------------------------------------------------------- cards
def render_checkpoint_card(spec: CardSpec, handwritten: str) -> str:
    """The full card of one checkpoint (front matter + generated facts + hand-written part)."""
    w = spec.weights
    cfg, num_params = _config(spec.arch, w)
    entry = get_entry(spec.arch)
    details = {"weights": f"`{w.location}`",
               "provenance": w.source or "-",
               "training data": w.dataset or "-",
               "persons (M)": str(w.num_person or "any"),
               "paper": w.paper or entry.paper or "-"}
    if w.fps:
        details["fps"] = str(w.fps)
    if w.convert_source:
        details["converted from"] = f"{w.convert_source} checkpoint (`skelzoo.convert_checkpoint`)"
    if w.url and w.sha256:
        details["sha256 of the original file"] = f"`{w.sha256}`"
    if w.hash_prefix and not w.sha256:
        details["published hash prefix"] = f"`{w.hash_prefix}` (of the original file)"
    extra = []
    if w.description:
        extra += ["## Model description", "", w.description.strip(), ""]
    if w.preprocess:
        from ..dataset_info import PREPROCESS_DESCRIPTIONS
        extra += ["## Input preprocessing", "", f"`{w.preprocess}`: {PREPROCESS_DESCRIPTIONS[w.preprocess]}", ""]
    extra.append(_fill(handwritten, spec).strip())
    tags = [f"layout-{w.layout}"] + ([w.convert_source] if w.convert_source else [])
    return render_card(cfg, num_params=num_params, sha256="" if w.url else (w.sha256 or ""), metrics=dict(w.metrics),
                       extra="\n".join(extra), license=w.license,
                       datasets=tuple(d for d in (w.eval_dataset, w.dataset) if d),
                       tags=tuple(tags), usage=_usage(spec, cfg["task"]), details=details,
                       citations=citations_for(spec.arch, w))


def generate_cards(specs: Iterable[CardSpec], cards_dir: Path) -> tuple[dict[str, str], list[str]]:
    """``({file name: card text}, problems)``; a checkpoint without a hand-written part is a problem
    (its card is not generated)."""
    cards, problems = {}, []
    for spec in specs:
        hw = handwritten_path(cards_dir, spec)
        if hw is None:
            problems.append(f"{spec.name}: no hand-written part ({HANDWRITTEN_DIR}/{spec.name}.md or "
                            f"{HANDWRITTEN_DIR}/{spec.arch}.md); run scripts/make_model_cards.py --stubs")
            continue
        text = hw.read_text(encoding="utf-8")
        missing = [s for s in REQUIRED_SECTIONS if s not in _sections(text)]
        if missing:
            problems.append(f"{spec.name}: {hw.name} lacks sections {missing}")
        if "TODO" in text:
            problems.append(f"{spec.name}: {hw.name} still holds TODO")
        cards[f"{spec.name}.md"] = render_checkpoint_card(spec, text)
    return cards, problems


def write_cards(cards_dir: Path, specs: Sequence[CardSpec] | None = None, *, stubs: bool = False,
                prune: bool = True) -> tuple[list[str], list[str]]:
    """Write the cards of ``specs`` (default: every registered checkpoint) to ``cards_dir``.

    ``stubs=True`` first creates :func:`stub_handwritten` parts for checkpoints that have none.
    ``prune=True`` removes cards of checkpoints that are no longer registered.
    Returns ``(written file names, problems)``.
    """
    cards_dir = Path(cards_dir)
    specs = registered_specs() if specs is None else list(specs)
    if stubs:
        for spec in specs:
            if handwritten_path(cards_dir, spec) is None:
                p = cards_dir / HANDWRITTEN_DIR / f"{spec.name}.md"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text(stub_handwritten(spec), encoding="utf-8")
    cards, problems = generate_cards(specs, cards_dir)
    cards_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for fname, text in cards.items():
        p = cards_dir / fname
        if not p.is_file() or p.read_text(encoding="utf-8") != text:
            p.write_text(text, encoding="utf-8")
            written.append(fname)
    if prune:
        for p in cards_dir.glob("*.md"):
            if p.name not in cards and p.name != "README.md":
                p.unlink()
                written.append(f"-{p.name}")
    return written, problems


def check_cards(cards_dir: Path, specs: Sequence[CardSpec] | None = None) -> list[str]:
    """Problems (empty = up to date): missing / stale / orphaned cards, missing or unfinished parts."""
    cards_dir = Path(cards_dir)
    specs = registered_specs() if specs is None else list(specs)
    cards, problems = generate_cards(specs, cards_dir)
    for fname, text in cards.items():
        p = cards_dir / fname
        if not p.is_file():
            problems.append(f"{fname}: missing; run scripts/make_model_cards.py")
        elif p.read_text(encoding="utf-8") != text:
            problems.append(f"{fname}: stale (registry or hand-written part changed); run scripts/make_model_cards.py")
    names = {f"{s.name}.md" for s in specs}
    for p in sorted(cards_dir.glob("*.md")):
        if p.name not in names and p.name != "README.md":
            problems.append(f"{p.name}: no registered checkpoint {p.stem}; run scripts/make_model_cards.py")
    return problems
