"""``skelzoo`` command line entry point: one sub-command per module, errors as one line, exit 2."""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from typing import Any, Sequence

__all__ = ["main", "build_parser", "print_json"]

#: sub-command modules under ``skelzoo.cli``; each has ``register(subparsers)`` and ``run(args) -> int``.
COMMANDS = ("list_", "info", "convert", "localize", "extract", "evaluate", "data", "train", "export", "push")


def print_json(obj: Any) -> None:
    """Write a JSON result to stdout (the CLI's machine-readable output)."""
    json.dump(obj, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="skelzoo", description="Skeleton action model zoo (SnipCLR).")
    parser.add_argument("--version", action="version", version=f"skelzoo {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="skelzoo: %(levelname)s: %(message)s")
    from ..runtime import tune_allocator_from_env
    # an application may set process-wide options (a library import does not): skelzoo.runtime
    if tune_allocator_from_env():
        logging.getLogger("skelzoo").info("malloc tuned: large freed blocks kept for reuse "
                                          "(SKELZOO_TUNE_MALLOC=0: off)")
    from ..errors import SkelzooError
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into e.g. `head`: stop quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (SkelzooError, ValueError, FileNotFoundError, IsADirectoryError, PermissionError,
            ConnectionError, KeyError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"skelzoo {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skelzoo: interrupted", file=sys.stderr)
        return 130
    except (RecursionError, MemoryError, OverflowError) as e:  # last resort: never a traceback for these
        print(f"skelzoo {args.command}: error: {type(e).__name__}: the input is too large or nested too "
              f"deeply ({str(e).strip().splitlines()[0][:120] if str(e).strip() else 'no detail'})", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
