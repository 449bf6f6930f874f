/**
 * The README's generated blocks: the job chart and the configuration table. `npm run docs` writes them; a test
 * fails when the README differs, so the README cannot drift from the machine or the config schema.
 */
import { jobChart } from './chart/charts.js';
import { toMermaid } from './chart/mermaid.js';
import { configTable } from './config.js';

export function generatedBlocks(): Record<string, string> {
  return {
    'job-chart': '```mermaid\n' + toMermaid(jobChart) + '```\n',
    config: configTable(),
  };
}

/** The README with every `<!-- name:start -->…<!-- name:end -->` block replaced by its generated text. */
export function withGeneratedBlocks(readme: string): string {
  let result = readme;
  for (const [name, text] of Object.entries(generatedBlocks())) {
    const pattern = new RegExp(`<!-- ${name}:start -->\\n[\\s\\S]*?<!-- ${name}:end -->`);
    if (!pattern.test(result)) throw new Error(`README.md has no ${name} block`);
    result = result.replace(pattern, () => `<!-- ${name}:start -->\n${text}<!-- ${name}:end -->`);
  }
  return result;
}
