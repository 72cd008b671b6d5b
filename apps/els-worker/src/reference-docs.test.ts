import fs from 'node:fs';
import path from 'node:path';
import { CONTRACT_ERROR_CODES } from '@els/contracts';
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

  it('errors.md lists every contract error code', () => {
    const documented = tableKeys(read('errors.md'));
    for (const code of Object.values(CONTRACT_ERROR_CODES)) expect(documented).toContain(code);
    expect(documented).toEqual(
      expect.arrayContaining(['ELS_ERR_ESSAY_ID_CONFLICT', 'ELS_ERR_CONFIG_INVALID', 'ELS_ERR_NOT_FOUND']),
    );
  });
});
