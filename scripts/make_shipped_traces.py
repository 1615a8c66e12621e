"""Write the trace reports shipped in resnet_viz/assets/traces/ (resnet_viz/nets/shipped.py): run after a change to
the tracer or the presets (tests/test_trace.py says when one is stale)."""

from __future__ import annotations

import json

from resnet_viz.nets.shipped import SHIPPED, SHIPPED_SIZE, shipped_path
from resnet_viz.nets.trace import trace


def main() -> None:
    for name in SHIPPED:
        path = shipped_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = trace(name, input_size=SHIPPED_SIZE).to_dict()
        path.write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
