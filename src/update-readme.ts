/** `npm run docs`: rewrites the README's generated blocks (job chart, config table). */
import { readFileSync, writeFileSync } from 'node:fs';
import { withGeneratedBlocks } from './readme.js';

const path = new URL('../README.md', import.meta.url);
writeFileSync(path, withGeneratedBlocks(readFileSync(path, 'utf8')));
