"""timm's whole ResNet catalogue against the app (`python -m benchmarks timm`): every model of timm's ``resnet`` and
``resnetv2`` modules up to 250 M params, made with random weights, saved as safetensors, opened strictly through
the checkpoint path, with timm's parameter count and its logits (eval mode, 64×64 input, tolerance 1e-4 relative).

Prints N of M per family and, for each model that does not open, the sentence that names the part that blocks it.
About 4 minutes alone on 2 cores (16 beside other work). The CI test (tests/test_timm_family.py) runs one or
two models per family.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the oracle, shared with the CI test

from tests.timm_oracle import ATOL_REL, FAMILIES, RTOL, SIZE, Outcome, catalogue, check


def main() -> None:
    import timm  # a test dependency (requirements-dev.txt)

    names = catalogue(timm)
    results: dict[str, list[Outcome]] = defaultdict(list)
    t0 = time.perf_counter()
    for name in names:
        outcome = check(timm, name)
        results[outcome.family].append(outcome)
        if not outcome.ok:
            print(f"  {name}: {outcome.why}", flush=True)
    total = sum(len(v) for v in results.values())
    ok = sum(o.ok for v in results.values() for o in v)
    print(f"{ok} of {total} open with timm's count and logits ({SIZE}×{SIZE}, rtol {RTOL}, atol {ATOL_REL}·max|logit|)"
          f", {time.perf_counter() - t0:.0f} s")  # fmt: skip
    for fam, _ in FAMILIES:
        if fam in results:
            print(f"  {fam}: {sum(o.ok for o in results[fam])} of {len(results[fam])}")


if __name__ == "__main__":
    main()
