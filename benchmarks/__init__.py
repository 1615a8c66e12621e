"""Benchmarks: `make bench` (python -m benchmarks) prints ratios measured in one run."""

import subprocess

GRAPH = ".echarts-container canvas"  # the interactive graph, once drawn (resnet_viz.ui.views.graph_view)
# The page has rerun for a net: the sidebar names it, a graph is drawn, and Streamlit's status widget is gone.
SHOWING = """title => document.body.innerText.includes('Showing: ' + title)
  && document.querySelector('.echarts-container canvas') !== null
  && document.querySelector('[data-testid="stStatusWidget"]') === null"""


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server this benchmark started, by its process: terminate, then kill if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
