/**
 * Where the debug page's files are on disk. The page is plain static files beside this module
 * (`src/debug/static/`; `npm run build` copies them to `dist/src/debug/static/`), and Mermaid is served
 * from the installed package, so the page fetches nothing from outside the service.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

/** Mermaid's self-contained browser bundle (about 3 MB), resolved through node_modules. */
export const MERMAID_BUNDLE = require.resolve('mermaid/dist/mermaid.min.js');

/** The files served under `/debug/assets/`, by name, with their content type. */
export const DEBUG_ASSETS: Record<string, { path: string; type: string }> = {
  'page.js': { path: `${STATIC_DIR}page.js`, type: 'text/javascript; charset=utf-8' },
  'access.js': { path: `${STATIC_DIR}access.js`, type: 'text/javascript; charset=utf-8' },
  'page.css': { path: `${STATIC_DIR}page.css`, type: 'text/css; charset=utf-8' },
  'mermaid.min.js': { path: MERMAID_BUNDLE, type: 'text/javascript; charset=utf-8' },
};

export const PAGE_HTML = `${STATIC_DIR}page.html`;
