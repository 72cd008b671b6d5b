import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS } from './config';
import { createMetrics } from './metrics';

const docs = path.resolve(__dirname, '..', '..', '..', 'docs', 'reference');
const read = (name: string) => fs.readFileSync(path.join(docs, name), 'utf8');
const tableKeys = (text: string) =>
  [...text.matchAll(/^\|\s*`([A-Za-z0-9_]+)`\s*\|/gm)].map((match) => match[1]);

describe('reference docs match the code', () => {
  it('configuration.md documents exactly the accepted ELS_ keys', () => {
    expect(tableKeys(read('configuration.md')).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  it('metrics.md documents exactly the els_ metrics the worker registers', async () => {
    const registered = (await createMetrics().registry.getMetricsAsJSON())
      .map((metric) => metric.name)
      .filter((name) => name.startsWith('els_'));
    expect(tableKeys(read('metrics.md')).sort()).toEqual(registered.sort());
  });
});
