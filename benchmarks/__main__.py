"""Run every benchmark (`python -m benchmarks`) or some (`python -m benchmarks trace graph`).

Each `benchmarks/bench_<name>.py` has `main() -> None`, which prints its figures as ratios against a
baseline measured in the same run. Figures on a shared 2-core machine are noisy: compare ratios, not seconds.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )
    chosen = argv or names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        print(f"error: unknown benchmark {unknown[0]!r}; choose from {', '.join(names)}", file=sys.stderr)
        return 2
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"benchmarks.bench_{name}").main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
