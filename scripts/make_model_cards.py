#!/usr/bin/env python
"""Regenerate ``model_cards/`` from the registry + the hand-written parts in ``model_cards/_handwritten/``.

    python scripts/make_model_cards.py            # write / update the cards (prints JSON)
    python scripts/make_model_cards.py --stubs    # also create TODO stubs for missing hand-written parts
    python scripts/make_model_cards.py --check    # exit 1 if any card is missing, stale or unfinished

See :mod:`skelzoo.models.published_cards` for the layout of a hand-written part.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cards-dir", type=Path, default=REPO / "model_cards")
    p.add_argument("--check", action="store_true", help="only check; exit 1 when cards are stale")
    p.add_argument("--stubs", action="store_true", help="create stubs for missing hand-written parts")
    p.add_argument("--pattern", default="*", help="only checkpoints matching this fnmatch pattern")
    args = p.parse_args(argv)

    from skelzoo.models.published_cards import check_cards, registered_specs, write_cards

    specs = registered_specs(args.pattern)
    if args.check:
        problems = check_cards(args.cards_dir, specs)
        for line in problems:
            print(f"make_model_cards: {line}", file=sys.stderr)
        print(json.dumps({"checkpoints": len(specs), "problems": len(problems)}))
        return 1 if problems else 0
    written, problems = write_cards(args.cards_dir, specs, stubs=args.stubs, prune=args.pattern == "*")
    for line in problems:
        print(f"make_model_cards: {line}", file=sys.stderr)
    print(json.dumps({"checkpoints": len(specs), "written": written, "problems": problems}, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
