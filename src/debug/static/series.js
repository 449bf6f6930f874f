// Throughput over the last 15 minutes (GET /stats/series), drawn with uPlot, which the service serves from
// node_modules: per-second submitted, done and failed on the left axis, queue depth and busy workers on the
// right. The data is asked for every SERIES_EVERY_MS and only the data changes: the chart is built once.
/* global uPlot */
import { getJson, showError } from './api.js';

export const SERIES_EVERY_MS = 2000;

let plot = null;
let container = null;

/** The page's text colour, so that the axes follow the light or dark scheme. */
const cssColor = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

function options(width) {
  const axisColor = cssColor('--fg-muted');
  const grid = { stroke: cssColor('--border'), width: 1 };
  const line = (label, stroke, scale = 'rate', dash) => ({ label, stroke, width: 1.5, scale, dash, points: { show: false } });
  return {
    width,
    height: 170,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, rate: { auto: true }, level: { auto: true } },
    axes: [
      { stroke: axisColor, grid, font: '12px system-ui' },
      { scale: 'rate', stroke: axisColor, grid, font: '12px system-ui', label: 'jobs / s', labelFont: '12px system-ui' },
      { scale: 'level', side: 1, stroke: axisColor, grid: { show: false }, font: '12px system-ui', label: 'jobs', labelFont: '12px system-ui' },
    ],
    series: [
      {},
      line('submitted', '#6366f1'),
      line('done', '#16a34a'),
      line('failed', '#dc2626'),
      line('queue depth', '#a855f7', 'level', [4, 3]),
      line('busy workers', '#0ea5e9', 'level', [2, 2]),
    ],
  };
}

function columns(series) {
  return [series.seconds, series.submitted, series.done, series.failed, series.queue_depth, series.busy_workers];
}

async function refresh() {
  const series = await getJson('/stats/series');
  const data = columns(series);
  if (!plot) plot = new uPlot(options(container.clientWidth || 600), data, container);
  else plot.setData(data);
  container.dataset.updated = String(Date.now());
  container.dataset.points = String(series.seconds.length);
  container.dataset.lastSubmitted = String(series.submitted.reduce((sum, n) => sum + n, 0));
}

/** Draws the chart into `element`, and keeps it current. */
export function setupSeries(element) {
  container = element;
  const tick = () => refresh().catch(showError);
  tick();
  setInterval(tick, SERIES_EVERY_MS);
  // The plot's width follows its column.
  new ResizeObserver(() => plot?.setSize({ width: container.clientWidth, height: 170 })).observe(container);
}
