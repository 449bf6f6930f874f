/** `npm run chart`: rewrites the README's job diagram from the machine. */
import { readFileSync, writeFileSync } from 'node:fs';
import { jobChart } from './charts.js';
import { toMermaid } from './mermaid.js';

const path = new URL('../../README.md', import.meta.url);
const readme = readFileSync(path, 'utf8');
const block = `<!-- job-chart:start -->\n\`\`\`mermaid\n${toMermaid(jobChart)}\`\`\`\n<!-- job-chart:end -->`;
const updated = readme.replace(/<!-- job-chart:start -->[\s\S]*?<!-- job-chart:end -->/, block);
if (updated === readme && !readme.includes(block)) throw new Error('README.md has no job-chart markers');
writeFileSync(path, updated);
