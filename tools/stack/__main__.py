"""``python -m tools.stack up|down|status``: see tools/stack/__init__.py."""

from __future__ import annotations

import argparse
import sys

from tools.stack import Stack, StackError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.stack", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    stack = Stack()
    try:
        if args.action == "up":
            seconds = stack.up(args.timeout)
            print(f"stack up and healthy in {seconds:.0f} s: http://127.0.0.1:{stack.http_port}/")
        elif args.action == "down":
            stack.down()
            print("stack removed (containers, networks, volumes)")
        for name, state in sorted(stack.health().items()):
            print(f"  {name:45} {state}")
    except StackError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
