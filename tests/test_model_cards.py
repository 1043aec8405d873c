"""Model cards (``model_cards/``): one per registered checkpoint, valid Hub front matter, metrics equal
to the registry, not stale against ``scripts/make_model_cards.py --check``; the generator itself is
exercised on a temporary checkpoint passed explicitly (it never touches the registry)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import skelzoo
from skelzoo.hub.model_card import _parse_yaml_subset, hub_license, parse_front_matter, split_front_matter
from skelzoo.models import WeightCfg
from skelzoo.models.published_cards import (
    REQUIRED_SECTIONS,
    CardSpec,
    check_cards,
    registered_specs,
    render_checkpoint_card,
    write_cards,
)

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
CARDS = REPO / "model_cards"
SPECS = registered_specs()


def _model_index_metrics(meta: dict) -> dict[str, float]:
    results = meta["model-index"][0]["results"]
    return {m["name"]: m["value"] for r in results for m in r["metrics"]}


def _check_card(text: str, spec: CardSpec) -> dict:
    meta = yaml.safe_load(split_front_matter(text)[0])
    assert meta == _parse_yaml_subset(split_front_matter(text)[0]) == parse_front_matter(text)
    w = spec.weights
    assert meta["library_name"] == "skelzoo"
    assert meta["license"] == hub_license(w.license)[0]
    assert "skelzoo" in meta["tags"] and meta["pipeline_tag"]
    if w.metrics:
        assert _model_index_metrics(meta) == {k: float(v) for k, v in w.metrics.items()}
        assert meta["model-index"][0]["name"] == spec.name
        ds = meta["model-index"][0]["results"][0]["dataset"]
        assert ds["name"] == (w.eval_dataset or w.dataset) and ds["type"] in meta["datasets"]
    else:
        assert "model-index" not in meta
    body = split_front_matter(text)[1]
    assert f"# {spec.name}" in body and w.license in body
    for section in (*REQUIRED_SECTIONS, "Citation"):
        assert f"## {section}" in body, section
    assert "2512.16504" in body and "TODO" not in body and "{dataset}" not in body
    return meta


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_registered_checkpoint_has_a_valid_card(spec: CardSpec) -> None:
    path = CARDS / f"{spec.name}.md"
    assert path.is_file(), f"no card for {spec.name}; run scripts/make_model_cards.py"
    _check_card(path.read_text(encoding="utf-8"), spec)


def test_cards_match_list_models() -> None:
    names = {p.stem for p in CARDS.glob("*.md") if p.name != "README.md"}
    assert names == set(skelzoo.list_models(pretrained=True))


def test_cards_are_not_stale() -> None:
    assert check_cards(CARDS) == []


def test_check_script_passes() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "make_model_cards.py"), "--check"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------------- generator
HANDWRITTEN = """## Intended use

Testing {name}.

## Training data and licence

Toy data ({dataset}).

## Limitations

None known.

## Evaluation

Measured: {metrics}.
"""


@pytest.fixture
def temp_spec() -> CardSpec:
    """A checkpoint that is *not* registered: the generator takes explicit specs."""
    w = WeightCfg(tag="unit_test", hf_hub_id="skelzoo-test/stgcn-ssl", revision="a" * 40, sha256="b" * 64,
                  license="MIT", source="unit test", dataset="Toy Skeletons v1",
                  metrics={"top1": 12.5, "mAP@0.5": 33.25}, class_names=("a", "b", "c"),
                  model_args={"num_classes": 3}, description="A temporary checkpoint.")
    assert "stgcn_ssl.unit_test" not in skelzoo.list_models(pretrained=True)
    return CardSpec("stgcn_ssl", w)


def test_generated_card_for_a_temporary_checkpoint(temp_spec: CardSpec, tmp_path: Path) -> None:
    hw = tmp_path / "_handwritten" / "stgcn_ssl.unit_test.md"
    hw.parent.mkdir()
    hw.write_text(HANDWRITTEN)
    written, problems = write_cards(tmp_path, [temp_spec])
    assert problems == [] and written == ["stgcn_ssl.unit_test.md"]
    text = (tmp_path / "stgcn_ssl.unit_test.md").read_text()
    meta = _check_card(text, temp_spec)
    assert meta["license"] == "mit" and "license_name" not in meta
    assert meta["datasets"] == ["toy-skeletons-v1"]
    assert {m["type"] for m in meta["model-index"][0]["results"][0]["metrics"]} == {"accuracy", "map"}
    assert "Testing stgcn_ssl.unit_test." in text and "Measured: top1 12.5, mAP@0.5 33.25." in text
    assert "b" * 64 in text and "hf-hub:skelzoo-test/stgcn-ssl@" + "a" * 40 in text
    n_params = sum(p.numel() for p in skelzoo.load_model("stgcn_ssl", num_classes=3).parameters())
    assert f"{n_params:,}" in text
    assert check_cards(tmp_path, [temp_spec]) == []
    assert "stgcn_ssl.unit_test" not in skelzoo.list_models(pretrained=True)  # registry untouched


def test_check_reports_stale_missing_orphaned_and_unfinished(temp_spec: CardSpec, tmp_path: Path) -> None:
    assert any("no hand-written part" in p for p in check_cards(tmp_path, [temp_spec]))
    _, problems = write_cards(tmp_path, [temp_spec], stubs=True)  # stub with TODOs
    assert any("TODO" in p for p in problems)
    hw = tmp_path / "_handwritten" / "stgcn_ssl.unit_test.md"
    hw.write_text(HANDWRITTEN)
    assert any("stale" in p for p in check_cards(tmp_path, [temp_spec]))
    write_cards(tmp_path, [temp_spec])
    assert check_cards(tmp_path, [temp_spec]) == []
    changed = CardSpec(temp_spec.arch, WeightCfg(**{**temp_spec.weights.__dict__, "metrics": {"top1": 13.0}}))
    assert any("stale" in p for p in check_cards(tmp_path, [changed]))  # metrics changed in the registry
    hw.write_text(HANDWRITTEN.replace("## Limitations", "## Other"))
    assert any("lacks sections ['Limitations']" in p for p in check_cards(tmp_path, [temp_spec]))
    (tmp_path / "old.tag.md").write_text("---\n---\n")
    assert any("old.tag.md" in p for p in check_cards(tmp_path, [temp_spec]))
    (tmp_path / "stgcn_ssl.unit_test.md").unlink()
    assert any("missing" in p for p in check_cards(tmp_path, [temp_spec]))


def test_architecture_level_handwritten_part_is_shared(temp_spec: CardSpec, tmp_path: Path) -> None:
    (tmp_path / "_handwritten").mkdir()
    (tmp_path / "_handwritten" / "stgcn_ssl.md").write_text(HANDWRITTEN)
    other = CardSpec("stgcn_ssl", WeightCfg(**{**temp_spec.weights.__dict__, "tag": "unit_test2"}))
    _, problems = write_cards(tmp_path, [temp_spec, other])
    assert problems == []
    assert "Testing stgcn_ssl.unit_test2." in (tmp_path / "stgcn_ssl.unit_test2.md").read_text()


def test_localizer_card_and_converted_weights(tmp_path: Path) -> None:
    w = WeightCfg(tag="tmp", url="https://example.org/x.pth", convert_source="official", sha256="c" * 64,
                  license="Apache-2.0", dataset="BABEL subset", metrics={"mAP@0.5": 40.0},
                  model_args={"num_classes": 4})
    text = render_checkpoint_card(CardSpec("agcn_loc_ufusion", w), HANDWRITTEN)
    meta = parse_front_matter(text)
    assert meta["pipeline_tag"] == "other" and "temporal-action-localization" in meta["tags"]
    assert "not published (converted on first use)" in text and "sha256 of the original file" in text
    assert "model.localize" in text and "@inproceedings{liu2020" not in text and "shi2019agcn" in text


def test_save_pretrained_card_parses(tmp_path: Path) -> None:
    model = skelzoo.load_model("stgcn_ssl", num_classes=3)
    folder = skelzoo.save_pretrained(model, tmp_path / "m", metrics={"top1": 1.5})
    meta = parse_front_matter((folder / "README.md").read_text())
    assert meta["library_name"] == "skelzoo" and _model_index_metrics(meta) == {"top1": 1.5}


@pytest.mark.parametrize("bad", ["---\nkey: [unclosed\n---\n", "no front matter\n", "---\na: 1\n"])
def test_front_matter_errors(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_front_matter(bad)
