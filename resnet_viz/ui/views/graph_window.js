function (p) {
  // Holds only the graph's items near the view, cut again from the whole graph as the view moves, and shows
  // labels only where they can be read (resnet_viz.graph.echarts does the same on the server for the first draw).
  // Bound to `finished` and `graphroam`, with the chart as `chart`. Constant code: the graph arrives as data
  // (the options' `rv`), never as script. Returns nothing, so nothing goes back to the server.
  const st = chart.__rvWindow || (chart.__rvWindow = { id: null, all: null, cfg: null, win: null, labels: null, roam: false, timer: null });
  if (p && (p.type === "graphroam" || p.type === "graphRoam")) {
    st.roam = true;
  } else if (st.roam) {
    st.roam = false; // the redraw after a pan or zoom: already checked
    return;
  } else {
    // a redraw: the server's new options, ours, or a hover. The series' id changes with the server's options.
    if (st.id !== null && chart.convertFromPixel({ seriesId: st.id }, [0, 0])) return;
    const o = chart.getOption(), rv = o.rv, series = o.series && o.series[0];
    st.id = null; st.all = null;
    if (!rv || !series) return;
    st.id = series.id; st.cfg = rv; st.win = rv.win; st.labels = series.label.show;
    st.all = typeof rv.all === "string" ? JSON.parse(rv.all) : null;
    return; // the server drew what its view needs
  }
  if (st.id === null || st.timer !== null) return;
  st.timer = setTimeout(function () {
    st.timer = null;
    const w = chart.getWidth(), h = chart.getHeight();
    const a = chart.convertFromPixel({ seriesId: st.id }, [0, 0]);
    const b = chart.convertFromPixel({ seriesId: st.id }, [w, h]);
    if (!a || !b || !(b[0] > a[0])) return;
    const vw = b[0] - a[0], vh = b[1] - a[1];
    const labels = w / vw >= st.cfg.labelsFrom;
    if (st.all === null) { // the whole graph is here: only the labels can change
      if (labels !== st.labels) {
        st.labels = labels;
        chart.setOption({ series: [{ id: st.id, label: { show: labels } }] });
      }
      return;
    }
    const old = st.win, g = st.cfg.grow, span = (1 + 2 * g) * (1 + 2 * g);
    const inside = a[0] >= old[0] && a[1] >= old[1] && b[0] <= old[2] && b[1] <= old[3];
    const wasteful = (old[2] - old[0]) * (old[3] - old[1]) > 4 * span * vw * vh;
    if (inside && !wasteful && labels === st.labels) return;
    const win = [a[0] - g * vw, a[1] - g * vh, b[0] + g * vw, b[1] + g * vh];
    const data = st.all.data, links = st.all.links, at = new Map(), keep = new Set();
    for (let i = 0; i < data.length; i++) {
      const d = data[i];
      at.set(d.name, d);
      if (i < 2 || (d.x >= win[0] && d.x <= win[2] && d.y >= win[1] && d.y <= win[3])) keep.add(d.name);
    }
    const shownLinks = [];
    for (const l of links) {
      const s = at.get(l.source), t = at.get(l.target);
      if (Math.max(s.x, t.x) >= win[0] && Math.min(s.x, t.x) <= win[2] && Math.max(s.y, t.y) >= win[1] && Math.min(s.y, t.y) <= win[3]) {
        shownLinks.push(l);
        keep.add(l.source);
        keep.add(l.target);
      }
    }
    st.win = win; st.labels = labels;
    const shown = data.filter(function (d) { return keep.has(d.name); });
    chart.setOption({ series: [{ id: st.id, data: shown, links: shownLinks, label: { show: labels } }] });
  }, 0);
}
