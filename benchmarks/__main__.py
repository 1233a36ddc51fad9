"""`python -m benchmarks [name ...]`: run the named benchmarks (default: all), print figures."""

import sys

from benchmarks import fanout, panel_append

BENCHMARKS = {"panel": panel_append, "fanout": fanout}


def main(names: list[str]) -> None:
    for name in names or list(BENCHMARKS):
        if name not in BENCHMARKS:
            sys.exit(f"unknown benchmark {name!r}; choose from {', '.join(BENCHMARKS)}")
        module = BENCHMARKS[name]
        print(module.report(module.run()), end="\n\n", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
