"""The command line: `python -m contracts write|check|compat|consumers` from the repository root."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import contracts
from contracts.discovery import find_root
from contracts.files import check, write
from contracts.repository import compatibility_problems, consumer_problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts", description=contracts.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["write", "check", "compat", "consumers"])
    parser.add_argument("--root", type=Path, default=None, help="repository root (default: found from cwd)")
    args = parser.parse_args(argv)
    root = find_root(args.root)
    if args.command == "write":
        for line in write(root):
            print(line)
        return 0
    if args.command == "check":
        problems = check(root)
        hint = "run `python -m contracts write` and commit the result"
    elif args.command == "compat":
        problems = compatibility_problems(root)
        hint = "make the change compatible, or publish a new event type version (.v2) beside the old one"
    else:
        problems = consumer_problems(root)
        hint = "align the consumer's payload model with the producer's schema"
    if not problems:
        print(f"contracts {args.command}: ok")
        return 0
    print(f"contracts {args.command}: {len(problems)} problem(s)", file=sys.stderr)
    for problem in problems:
        print(f"- {problem}", file=sys.stderr)
    print(hint, file=sys.stderr)
    return 1

