/**
 * Where the debug page's files are on disk. The page is plain static files beside this module
 * (`src/debug/static/`; `npm run build` copies them to `dist/src/debug/static/`), and Mermaid is served
 * from the installed package, so the page fetches nothing from outside the service.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** Mermaid's self-contained browser bundle (about 5.5 MB), resolved through node_modules. */
export const MERMAID_BUNDLE = require.resolve('mermaid/dist/mermaid.min.js');
/** uPlot (about 50 KB), for the throughput chart: its browser bundle and its style, from node_modules. */
const UPLOT_DIR = require.resolve('uplot/dist/uPlot.iife.min.js').replace(/uPlot\.iife\.min\.js$/, '');

const JS = 'text/javascript; charset=utf-8';

/** The page's own files, one module per concern, by name: `page.js` imports the others. */
const PAGE_FILES: Record<string, string> = {
  'page.js': JS,
  // A classic script, before page.js: the access token on every request.
  'access.js': JS,
  'api.js': JS,
  'badge.js': JS,
  'chart.js': JS,
  'list.js': JS,
  'selected.js': JS,
  'actions.js': JS,
  'detail.js': JS,
  'failures.js': JS,
  'series.js': JS,
  'url-state.js': JS,
  'schedules.js': JS,
  'page.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** The files served under `/debug/assets/`, by name, with their content type. */
export const DEBUG_ASSETS: Record<string, { path: string; type: string }> = {
  ...Object.fromEntries(Object.entries(PAGE_FILES).map(([name, type]) => [name, { path: `${STATIC_DIR}${name}`, type }])),
  'mermaid.min.js': { path: MERMAID_BUNDLE, type: JS },
  'uPlot.iife.min.js': { path: `${UPLOT_DIR}uPlot.iife.min.js`, type: JS },
  'uPlot.min.css': { path: `${UPLOT_DIR}uPlot.min.css`, type: 'text/css; charset=utf-8' },
};

export const PAGE_HTML = `${STATIC_DIR}page.html`;
