import fs from 'node:fs';
import path from 'node:path';
import { generatedContractFiles } from './index';

// Regenerate with: npx nx run contracts:generate-schemas
const dir = path.resolve(__dirname, '../../../docs/reference/contracts');

describe('generated JSON Schemas in docs/reference/contracts', () => {
  const files = generatedContractFiles();

  if (process.env['ELS_UPDATE_CONTRACT_SCHEMAS'] === '1') {
    fs.mkdirSync(dir, { recursive: true });
    for (const file of files) fs.writeFileSync(path.join(dir, file.fileName), file.content);
  }

  it.each(files.map((f) => [f.fileName, f.content]))('%s matches the zod schema', (fileName, content) => {
    const onDisk = fs.existsSync(path.join(dir, fileName))
      ? fs.readFileSync(path.join(dir, fileName), 'utf8')
      : '';
    expect(onDisk).toBe(content);
  });

  it('has no stale schema files for events that no longer exist', () => {
    const expected = new Set(files.map((f) => f.fileName));
    const stale = fs.readdirSync(dir).filter((f) => f.endsWith('.schema.json') && !expected.has(f));
    expect(stale).toEqual([]);
  });
});
