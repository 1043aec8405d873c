"""Model cards: Hub front matter (YAML) + a generated body from the config and registry metadata."""
from __future__ import annotations

import json
from typing import Any, Mapping

__all__ = ["render_card"]

PAPER = ("Cheng et al., Skeleton-Snippet Contrastive Learning with Multiscale Feature Fusion for Action "
         "Localization, arXiv 2512.16504 (ICPR 2026)")


def _yaml_scalar(v: Any) -> str:
    return json.dumps(v)  # JSON scalars are valid YAML scalars


def render_card(config: Mapping[str, Any], *, num_params: int, sha256: str, metrics: Mapping[str, float],
                extra: str = "", license: str = "other", datasets: tuple[str, ...] = (),
                tags: tuple[str, ...] = ()) -> str:
    """A Markdown model card with Hub front matter (``library_name: skelzoo``, tags, licence, metrics)."""
    arch = config["architecture"]
    name = f"{arch}.{config['tag']}" if config.get("tag") else arch
    task = config.get("task") or "features"
    all_tags = ["skelzoo", "skeleton", "action-recognition" if task == "classification" else
                "temporal-action-localization" if task == "localization" else "feature-extraction",
                "pytorch", "safetensors", *tags]
    lines = ["---", "library_name: skelzoo", f"license: {license}", "tags:"]
    lines += [f"- {t}" for t in dict.fromkeys(all_tags)]
    if datasets:
        lines.append("datasets:")
        lines += [f"- {d}" for d in datasets]
    if metrics:
        lines += ["model-index:", f"- name: {name}", "  results:", "  - task:",
                  f"      type: {_yaml_scalar(task)}", "    metrics:"]
        for k, v in metrics.items():
            lines += [f"    - type: {_yaml_scalar(k)}", f"      value: {_yaml_scalar(float(v))}"]
    lines += ["---", "", f"# {name}", "",
              f"A skelzoo `{arch}` checkpoint ({task}).", "",
              "| field | value |", "|---|---|",
              f"| architecture | `{arch}` |",
              f"| parameters | {num_params:,} |",
              f"| input | `(N, {config.get('in_channels')}, T, V, M)`, layout `{config.get('layout')}` |",
              f"| classes | {config.get('num_classes')} |",
              f"| sha256 of model.safetensors | `{sha256}` |",
              f"| skelzoo version | {config.get('skelzoo_version')} |", ""]
    if config.get("class_names"):
        lines += ["Classes: " + ", ".join(f"`{c}`" for c in config["class_names"]), ""]
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in metrics.items()] + [""]
    lines += ["## Usage", "", "```python", "import skelzoo",
              f'model = skelzoo.load_model("local-dir:PATH")  # or "hf-hub:ORG/REPO"', "```", ""]
    if extra:
        lines += [extra.rstrip(), ""]
    lines += ["## Citation", "", PAPER, ""]
    return "\n".join(lines)
