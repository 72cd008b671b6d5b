import { EVENT_DEFINITIONS, EVENT_NAMES, type BaseTopic } from '@els/contracts';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@els/harness';

/**
 * The JSON Schemas ELS publishes for its consumers (docs/reference/contracts/<topic>.schema.json), read from
 * the files a consumer outside TypeScript would read, not from the zod schemas they were generated from: a
 * record that passes the worker's own types but not its published schema breaks those consumers.
 */

const contractsDir = path.join(repoRoot, 'docs', 'reference', 'contracts');

let validators: Map<BaseTopic, ValidateFunction> | undefined;

function compile(): Map<BaseTopic, ValidateFunction> {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  const compiled = new Map<BaseTopic, ValidateFunction>();
  for (const name of EVENT_NAMES) {
    const { topic } = EVENT_DEFINITIONS[name];
    const schema = JSON.parse(
      fs.readFileSync(path.join(contractsDir, `${topic}.schema.json`), 'utf8'),
    ) as Record<string, unknown>;
    compiled.set(topic, ajv.compile(schema));
  }
  return compiled;
}

/** What the published schema of `topic` finds wrong with `value` (empty when it validates). */
export function schemaErrors(topic: BaseTopic, value: unknown): string[] {
  validators ??= compile();
  const validate = validators.get(topic);
  if (!validate) return [`no published schema for ${topic}`];
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'invalid'}`);
}
