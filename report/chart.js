// fedcut's interactive equity and drawdown chart: reads the JSON in #chart-data, draws inline SVG.
// Zoom: the buttons (each easing cycle's window, or all), a drag across the chart, a double-click
// for all, or the address: #zoom=2007, #zoom=2008-01-01..2009-06-30, &hover=2008-10-10.
// What is shown is written into <output id="chart-state"> (text and data- attributes).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const svg = document.getElementById("chart-svg");
  const state = document.getElementById("chart-state");
  const NS = "http://www.w3.org/2000/svg";
  const DAY = 86400000;
  const t = data.dates.map((d) => Date.parse(d + "T00:00:00Z"));
  const n = t.length;
  const M = {left: 86, right: 14, top: 30, gap: 26, bottom: 24};
  let view = {from: 0, to: n - 1, name: "all"};
  let hover = null;

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function iso(ms) { return new Date(ms).toISOString().slice(0, 10); }
  function usd(x) {
    const s = Math.round(Math.abs(x)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (x < 0 ? "-$" : "$") + s;
  }
  function pct(x) { const p = (100 * x).toFixed(1); return (x > 0 ? "+" : "") + (p === "-0.0" ? "0.0" : p) + "%"; }
  // the first point on or after `ms` (the last point if none)
  function at(ms) { let lo = 0, hi = n - 1; while (lo < hi) { const m = (lo + hi) >> 1; if (t[m] < ms) lo = m + 1; else hi = m; } return lo; }
  // the last point on or before `ms` (the first point if none)
  function upTo(ms) { const k = at(ms); return t[k] > ms && k > 0 ? k - 1 : k; }

  function zoom(name) {
    if (name === "all" || !name) return {from: 0, to: n - 1, name: "all"};
    const cycle = data.cycles.find((c) => c.name === name);
    if (cycle) return {from: at(Date.parse(cycle.from)), to: upTo(Date.parse(cycle.to)), name: name};
    const span = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(name);
    if (span) {
      const a = at(Date.parse(span[1])), b = upTo(Date.parse(span[2]));
      if (b > a) return {from: a, to: b, name: name};
    }
    return null;
  }

  function readout(k) {
    // drawn week by week, a point is the week's last close and the deepest drawdown of its days
    const parts = [data.weekly ? `week to ${data.dates[k]}` : data.dates[k]];
    const fall = data.weekly ? "deepest drawdown that week" : "drawdown";
    for (const side of ["strategy", "benchmark"])
      parts.push(`${data.labels[side]} ${usd(data[side][k])} (${fall} ${pct(data[side + "_drawdown"][k])})`);
    parts.push("regime " + data.regimes[data.regime[k]].replace(/_/g, " "));
    return parts.join(" · ");
  }

  function report() {
    const a = data.dates[view.from], b = data.dates[view.to];
    state.dataset.zoom = view.name;
    state.dataset.from = a;
    state.dataset.to = b;
    state.dataset.points = String(view.to - view.from + 1);
    let text = `Showing ${a} to ${b}` + (view.name === "all" ? " (all)" : ` (${view.name})`) + ".";
    if (hover !== null) {
      state.dataset.hover = data.dates[hover];
      state.dataset.strategy = data.strategy[hover].toFixed(2);
      state.dataset.benchmark = data.benchmark[hover].toFixed(2);
      state.dataset.strategyDrawdown = data.strategy_drawdown[hover].toFixed(5);
      state.dataset.benchmarkDrawdown = data.benchmark_drawdown[hover].toFixed(5);
      state.dataset.regime = data.regimes[data.regime[hover]];
      text += " " + readout(hover);
    }
    state.textContent = text;
  }

  function draw() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const W = svg.clientWidth || 1200, H = svg.clientHeight || 460;
    const plotW = W - M.left - M.right;
    const topH = Math.round((H - M.top - M.gap - M.bottom) * 0.66);
    const ddTop = M.top + topH + M.gap, ddH = H - ddTop - M.bottom;
    const t0 = t[view.from], t1 = Math.max(t[view.to], t0 + DAY);
    const x = (ms) => M.left + (ms - t0) / (t1 - t0) * plotW;
    let lo = Infinity, hi = -Infinity, dd = 0;
    for (let k = view.from; k <= view.to; k++) {
      for (const side of ["strategy", "benchmark"]) {
        lo = Math.min(lo, data[side][k]); hi = Math.max(hi, data[side][k]);
        dd = Math.min(dd, data[side + "_drawdown"][k]);
      }
    }
    lo = Math.log(lo * 0.97); hi = Math.log(hi * 1.03);
    dd = Math.min(dd * 1.08, -0.01);
    const y = (v) => M.top + (hi - Math.log(v)) / (hi - lo) * topH;
    const yd = (v) => ddTop + v / dd * ddH;
    // regime bands: runs of one regime, each from its first point to the next run's first point
    for (let k = view.from; k <= view.to;) {
      let j = k; while (j + 1 <= view.to && data.regime[j + 1] === data.regime[k]) j++;
      const a = x(t[k]), b = x(j + 1 <= view.to ? t[j + 1] : t1);
      el("rect", {x: a, y: M.top, width: Math.max(b - a, 0.5), height: topH, fill: data.regime_colours[data.regime[k]],
                  "fill-opacity": 0.28}, svg);
      k = j + 1;
    }
    // axes: value ticks (log), drawdown ticks, year ticks
    const grid = {stroke: "#ccc", "stroke-width": 0.6};
    let ticks = [];
    for (const steps of [[1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9],  // finer steps on a narrow span
                         [1, 1.2, 1.4, 1.6, 1.8, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9]]) {
      ticks = [];
      for (let p = Math.pow(10, Math.floor(lo / Math.LN10)); p <= Math.exp(hi); p *= 10)
        for (const m of steps) { const v = m * p; if (Math.log(v) >= lo && Math.log(v) <= hi) ticks.push(v); }
      if (ticks.length >= 4) break;
    }
    ticks.sort((a, b) => a - b);
    const every = Math.max(1, Math.ceil(ticks.length / 7));
    ticks.forEach((v, i) => {
      if (i % every) return;
      el("line", {x1: M.left, x2: W - M.right, y1: y(v), y2: y(v), ...grid}, svg);
      el("text", {x: M.left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 12}, svg).textContent = usd(v);
    });
    const ddStep = [0.05, 0.1, 0.2, 0.25].find((s) => -dd / s <= 5) || 0.25;
    for (let v = 0; v >= dd; v -= ddStep) {
      el("line", {x1: M.left, x2: W - M.right, y1: yd(v), y2: yd(v), ...grid}, svg);
      el("text", {x: M.left - 6, y: yd(v) + 4, "text-anchor": "end", "font-size": 12}, svg).textContent = pct(v);
    }
    const y0 = new Date(t0).getUTCFullYear(), y1 = new Date(t1).getUTCFullYear();
    const yearStep = Math.max(1, Math.ceil((y1 - y0 + 1) / Math.max(2, Math.floor(plotW / 70))));
    for (let yr = y0; yr <= y1 + 1; yr += 1) {
      const ms = Date.UTC(yr, 0, 1);
      if (ms < t0 || ms > t1) continue;
      el("line", {x1: x(ms), x2: x(ms), y1: M.top, y2: H - M.bottom, ...grid}, svg);
      if ((yr - y0) % yearStep === 0)
        el("text", {x: x(ms), y: H - 6, "text-anchor": "middle", "font-size": 12}, svg).textContent = String(yr);
    }
    if (y1 - y0 < 3) {  // a short view: quarter ticks besides the years
      for (let ms = Date.UTC(y0, 0, 1); ms <= t1; ms = Date.UTC(new Date(ms).getUTCFullYear(), new Date(ms).getUTCMonth() + 3, 1)) {
        if (ms < t0 || new Date(ms).getUTCMonth() === 0) continue;
        el("text", {x: x(ms), y: H - 6, "text-anchor": "middle", "font-size": 11, fill: "#666"}, svg).textContent = iso(ms).slice(0, 7);
      }
    }
    // first cuts
    for (const c of data.cycles) {
      const ms = Date.parse(c.cut);
      if (ms < t0 || ms > t1) continue;
      el("line", {x1: x(ms), x2: x(ms), y1: M.top, y2: H - M.bottom, stroke: data.colours.cut, "stroke-dasharray": "5 4"}, svg);
      const right = x(ms) > W - M.right - 110;
      el("text", {x: x(ms) + (right ? -3 : 3), y: M.top + 12, "font-size": 12, fill: data.colours.cut,
                  "text-anchor": right ? "end" : "start"}, svg).textContent = "cut " + c.cut;
    }
    // the curves
    for (const side of ["benchmark", "strategy"]) {
      let top = "", low = "";
      for (let k = view.from; k <= view.to; k++) {
        top += (k === view.from ? "M" : "L") + x(t[k]).toFixed(1) + "," + y(data[side][k]).toFixed(1);
        low += (k === view.from ? "M" : "L") + x(t[k]).toFixed(1) + "," + yd(data[side + "_drawdown"][k]).toFixed(1);
      }
      el("path", {d: top, fill: "none", stroke: data.colours[side], "stroke-width": side === "strategy" ? 1.8 : 1.3}, svg);
      el("path", {d: low, fill: "none", stroke: data.colours[side], "stroke-width": 1.2}, svg);
    }
    el("rect", {x: M.left, y: M.top, width: plotW, height: topH, fill: "none", stroke: "#999"}, svg);
    el("rect", {x: M.left, y: ddTop, width: plotW, height: ddH, fill: "none", stroke: "#999"}, svg);
    el("text", {x: M.left + 6, y: ddTop - 6, "font-size": 12, fill: "#444"}, svg).textContent = "drawdown from the running high";
    // legend
    let lx = M.left;
    for (const side of ["strategy", "benchmark"]) {
      el("line", {x1: lx, x2: lx + 18, y1: 15, y2: 15, stroke: data.colours[side], "stroke-width": 2.5}, svg);
      const label = el("text", {x: lx + 22, y: 19, "font-size": 12}, svg);
      label.textContent = data.labels[side];
      lx += 30 + 7 * data.labels[side].length;
    }
    data.regimes.forEach((r, i) => {
      el("rect", {x: lx, y: 9, width: 12, height: 12, fill: data.regime_colours[i], "fill-opacity": 0.5}, svg);
      el("text", {x: lx + 16, y: 19, "font-size": 12}, svg).textContent = r.replace(/_/g, " ");
      lx += 26 + 7 * r.length;
    });
    // hover marker
    if (hover !== null && hover >= view.from && hover <= view.to) {
      el("line", {x1: x(t[hover]), x2: x(t[hover]), y1: M.top, y2: H - M.bottom, stroke: "#000", "stroke-width": 0.8}, svg);
      for (const side of ["strategy", "benchmark"]) {
        el("circle", {cx: x(t[hover]), cy: y(data[side][hover]), r: 3.5, fill: data.colours[side]}, svg);
        el("circle", {cx: x(t[hover]), cy: yd(data[side + "_drawdown"][hover]), r: 3, fill: data.colours[side]}, svg);
      }
    }
    svg._x = {t0, t1, plotW};
  }

  function pointAt(clientX) {
    const box = svg.getBoundingClientRect(), g = svg._x;
    const ms = g.t0 + (clientX - box.left - svg.clientLeft - M.left) / g.plotW * (g.t1 - g.t0);  // inside the border
    const k = at(ms);
    const j = k > view.from && Math.abs(t[k - 1] - ms) < Math.abs(t[k] - ms) ? k - 1 : k;
    return Math.min(Math.max(j, view.from), view.to);
  }

  function show(next, hovered) {
    view = next;
    hover = hovered === undefined ? hover : hovered;
    for (const b of document.querySelectorAll("#chart button"))
      b.classList.toggle("on", b.dataset.zoom === view.name);
    draw();
    report();
  }

  let drag = null, band = null;
  svg.addEventListener("mousedown", (e) => { drag = pointAt(e.clientX); });
  svg.addEventListener("mousemove", (e) => {
    const k = pointAt(e.clientX);
    hover = k;
    draw();
    if (drag !== null && k !== drag) {
      const a = Math.min(drag, k), b = Math.max(drag, k), g = svg._x;
      const xa = M.left + (t[a] - g.t0) / (g.t1 - g.t0) * g.plotW, xb = M.left + (t[b] - g.t0) / (g.t1 - g.t0) * g.plotW;
      band = el("rect", {x: xa, y: M.top, width: xb - xa, height: svg.clientHeight - M.top - M.bottom, fill: "#1f3b73", "fill-opacity": 0.12}, svg);
    }
    report();
  });
  addEventListener("mouseup", (e) => {
    if (drag === null) return;
    const k = pointAt(e.clientX), a = Math.min(drag, k), b = Math.max(drag, k);
    drag = null; band = null;
    if (b - a >= 2) show({from: a, to: b, name: data.dates[a] + ".." + data.dates[b]});
  });
  svg.addEventListener("dblclick", () => show(zoom("all")));
  for (const b of document.querySelectorAll("#chart button[data-zoom]"))
    b.addEventListener("click", () => show(zoom(b.dataset.zoom)));
  addEventListener("resize", () => draw());

  function fromAddress() {
    const args = new URLSearchParams(location.hash.slice(1));
    const next = zoom(args.get("zoom")) || zoom("all");
    const day = args.get("hover");
    const k = day && /^\d{4}-\d{2}-\d{2}$/.test(day) ? upTo(Date.parse(day)) : null;
    show(next, k);
  }
  addEventListener("hashchange", fromAddress);
  fromAddress();
})();
