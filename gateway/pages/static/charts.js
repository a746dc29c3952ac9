// Charts with the vendored Apache ECharts (/ui/static/vendor/echarts/echarts.min.js, loaded
// before this file by the pages that draw charts). Each chart: a titled box with an accessible
// description; bars may be clicked (and the same targets are links in the table beside it).
"use strict";
const PALETTE = ["#1565c0", "#2e7d32", "#c62828", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#455a64"];
const _charts = [];
window.addEventListener("resize", () => _charts.forEach(c => c.resize()));
window.addEventListener("beforeprint", () => _charts.forEach(c => c.resize()));

function chartBox(id, title, description, tall) {
  return el("div", { class: "chart-card" }, el("h3", { id: id + "-title" }, title),
    el("div", { class: "chart" + (tall ? " tall" : ""), id: id, role: "img", "aria-labelledby": id + "-title",
      "aria-describedby": id + "-desc", "data-chart": id }),
    el("p", { class: "muted", id: id + "-desc" }, description || ""));
}

function _draw(node, option, onClick) {
  if (typeof node === "string") node = document.getElementById(node);
  if (!node || typeof echarts === "undefined") return null;
  const existing = echarts.getInstanceByDom(node);
  if (existing) existing.dispose();
  const chart = echarts.init(node, null, { renderer: "canvas", locale: "ZH" });
  chart.setOption(Object.assign({ color: PALETTE, aria: { enabled: true }, animation: false,
    textStyle: { fontFamily: "Noto Sans CJK SC, Microsoft YaHei, sans-serif" } }, option));
  if (onClick) {
    chart.on("click", params => onClick(params.dataIndex, params));
    node.style.cursor = "pointer";
  }
  node.dataset.ready = "1";
  _charts.push(chart);
  return chart;
}

function _axisValue(kind) {
  // Rates: up to 100%, or to a little above the highest when all are low (a province's first stations).
  if (kind === "percent") return { type: "value", min: 0,
    max: v => v.max >= 0.5 ? 1 : Math.max(0.05, Math.ceil(v.max * 1.2 * 20) / 20),
    axisLabel: { formatter: v => +(v * 100).toFixed(1) + "%" } };
  return { type: "value", minInterval: kind === "int" ? 1 : null };
}
function _fmt(kind) {
  return v => v === null || v === undefined ? "—" : kind === "percent" ? (v * 100).toFixed(1) + "%" : String(v);
}

// Bars per category: series [{name, data, kind}]; horizontal for rankings; onClick(index).
function barChart(node, categories, series, opts) {
  opts = opts || {};
  const kind = opts.kind || "int";
  const cat = { type: "category", data: categories, axisLabel: { interval: 0, rotate: !opts.horizontal && categories.length > 6 ? 30 : 0, width: 90, overflow: "truncate" } };
  return _draw(node, {
    tooltip: { trigger: "axis", valueFormatter: _fmt(kind) },
    legend: series.length > 1 ? { top: 0 } : undefined,
    grid: { left: opts.horizontal ? 110 : 50, right: 20, top: series.length > 1 ? 30 : 12, bottom: opts.horizontal ? 24 : 60, containLabel: false },
    xAxis: opts.horizontal ? _axisValue(kind) : cat,
    yAxis: opts.horizontal ? Object.assign(cat, { inverse: true }) : _axisValue(kind),
    series: series.map(s => ({ type: "bar", name: s.name, data: s.data, stack: opts.stack ? "all" : undefined,
      itemStyle: s.color ? { color: s.color } : undefined,
      barMaxWidth: 36, label: opts.labels ? { show: true, position: opts.horizontal ? "right" : "top", formatter: p => _fmt(kind)(p.value) } : undefined })),
  }, opts.onClick);
}

// Lines (or areas) over months: series [{name, data, area, axis}], kinds per axis.
function lineChart(node, categories, series, opts) {
  opts = opts || {};
  const kinds = opts.kinds || [opts.kind || "int"];
  return _draw(node, {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 56, right: kinds.length > 1 ? 56 : 20, top: 30, bottom: 30 },
    xAxis: { type: "category", data: categories, boundaryGap: series.some(s => s.bar) },
    yAxis: kinds.map(_axisValue),
    series: series.map(s => ({ type: s.bar ? "bar" : "line", name: s.name, data: s.data, yAxisIndex: s.axis || 0,
      itemStyle: s.color ? { color: s.color } : undefined, lineStyle: s.color ? { color: s.color } : undefined,
      areaStyle: s.area ? { opacity: 0.15 } : undefined, smooth: false, symbolSize: 6, barMaxWidth: 28,
      stack: s.stack, connectNulls: true })),
  });
}
