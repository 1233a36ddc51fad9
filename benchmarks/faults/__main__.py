"""``python -m benchmarks.faults [--small] [CASE ...]``: run the fault suite, one line per
case; exit status 1 when a case breaks a promise (see ``benchmarks/faults/__init__.py``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from benchmarks.faults import FULL, GROUPS, SMALL, cases, run_case


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", choices=[[], *GROUPS], metavar="CASE",
                        help=f"which cases (default: all): {', '.join(GROUPS)}")
    parser.add_argument("--small", action="store_true",
                        help="the small sizes CI runs instead of the full ones")
    args = parser.parse_args(argv)
    sizes = SMALL if args.small else FULL
    # The suite's own clients: a connection the server ends is a figure, not a log line.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    logging.getLogger("socketio.client").setLevel(logging.CRITICAL)
    print(f"Fault suite ({'small' if args.small else 'full'}): one line per case; "
          f"promises: 0 crashes, tracebacks, unanswered, server-failed and gaps; "
          f"bystander p99 < 100 ms", flush=True)
    broken = 0
    for label, case in cases(sizes, tuple(args.groups) or GROUPS):
        figures = await run_case(label, case)
        print(figures.line(), flush=True)
        broken += bool(figures.broken())
    print(f"{broken} case(s) broke a promise" if broken else "every promise kept", flush=True)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
