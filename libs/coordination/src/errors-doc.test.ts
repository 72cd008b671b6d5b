import fs from 'node:fs';
import path from 'node:path';
import { ERROR_CATALOGUE, ERROR_CODES, type ErrorCatalogueEntry, type ErrorCode } from './error-catalogue';
import { FAILURE_RULES, UNEXPECTED_FAILURE, type FailureRule } from './errors';
import {
  CATALOGUE_TABLE_HEADER,
  describeErrorCatalogue,
  describeFailureRules,
  FAILURE_TABLE_HEADER,
  markdownTable,
  type TableRow,
} from './errors-doc';

const ERRORS_MD = path.resolve(__dirname, '..', '..', '..', 'docs', 'reference', 'errors.md');
const CATALOGUE_SECTION = '# Error codes';
const RULES_SECTION = '## How PostgreSQL errors are classified';

/** The text under a heading, up to the next level-2 heading. */
function sectionOf(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`errors.md has no heading "${heading}"`);
  const end = lines.findIndex((line, index) => index > start && line.startsWith('## '));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The cells of a table line: split on pipes not escaped, `\|` read back as a pipe, trimmed. */
function cellsOf(line: string): string[] {
  const inner = line
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '');
  return inner.split(/(?<!\\)\|/).map((cell) => cell.replace(/\\\|/g, '|').trim());
}

/** Every markdown table of a text, as lines of cells (the delimiter line included). */
function tablesOf(text: string): string[][][] {
  const tables: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of text.split('\n')) {
    if (!line.trimStart().startsWith('|')) {
      current = undefined;
      continue;
    }
    if (!current) tables.push((current = []));
    current.push(cellsOf(line));
  }
  return tables;
}

/** Header and rows of the one table in `text`; fails unless the second line is a delimiter line. */
function onlyTable(text: string): { header: string[]; rows: string[][] } {
  const tables = tablesOf(text);
  expect(tables).toHaveLength(1);
  const [header = [], delimiter = [], ...rows] = tables[0] ?? [];
  expect(delimiter.every((cell) => /^:?-+:?$/.test(cell))).toBe(true);
  return { header, rows };
}

const numbered = (rows: ReadonlyArray<readonly string[]>) =>
  rows.map((cells, index) => ({ row: index + 1, cells: [...cells] }));

const documented = (heading: string) => onlyTable(sectionOf(fs.readFileSync(ERRORS_MD, 'utf8'), heading));

/** True when the rows differ from the documented ones, so a change of the code would fail the equality test. */
const differs = (variantRows: readonly TableRow[], rows: readonly TableRow[]) =>
  JSON.stringify(numbered(variantRows)) !== JSON.stringify(numbered(rows));

describe('the error catalogue in docs/reference/errors.md', () => {
  const codes = Object.keys(ERROR_CATALOGUE) as ErrorCode[];

  it('is one table with the columns Code, Policy, Meaning and What the operator does', () => {
    expect(documented(CATALOGUE_SECTION).header).toEqual([...CATALOGUE_TABLE_HEADER]);
  });

  it('shows every code of ERROR_CATALOGUE in its order, cell by cell, and no other', () => {
    const { rows } = documented(CATALOGUE_SECTION);
    expect(numbered(rows)).toEqual(numbered(describeErrorCatalogue()));
    expect(rows.map((cells) => cells[0])).toEqual(codes.map((code) => `\`${code}\``));
    expect(new Set([...codes, ...Object.values(ERROR_CODES)]).size).toBe(codes.length);
  });

  it('would differ from a catalogue with a code added, removed, reordered or changed', () => {
    const { rows } = documented(CATALOGUE_SECTION);
    const entries = Object.entries(ERROR_CATALOGUE) as Array<[ErrorCode, ErrorCatalogueEntry]>;
    const [first, second, ...rest] = entries as [
      [ErrorCode, ErrorCatalogueEntry],
      [ErrorCode, ErrorCatalogueEntry],
      ...Array<[ErrorCode, ErrorCatalogueEntry]>,
    ];
    const changed = (change: Partial<ErrorCatalogueEntry>) =>
      describeErrorCatalogue(Object.fromEntries([[first[0], { ...first[1], ...change }], second, ...rest]));
    const variants: Record<string, TableRow[]> = {
      added: describeErrorCatalogue({
        ...ERROR_CATALOGUE,
        ['UNDOCUMENTED_CODE' as ErrorCode]: { retry: 'never', meaning: 'm', action: 'a' },
      }),
      removed: describeErrorCatalogue(Object.fromEntries(entries.slice(0, -1))),
      reordered: describeErrorCatalogue(Object.fromEntries([second, first, ...rest])),
      'policy changed': changed({ retry: first[1].retry === 'never' ? 'unbounded' : 'never' }),
      'meaning changed': changed({ meaning: 'another meaning' }),
      'action changed': changed({ action: 'Another action.' }),
    };
    for (const [variant, variantRows] of Object.entries(variants)) {
      expect({ variant, differs: differs(variantRows, rows) }).toEqual({ variant, differs: true });
    }
  });
});

describe('the classification table in docs/reference/errors.md', () => {
  it('is one table with the columns Match, Code, Policy, Meaning and What the operator does', () => {
    expect(documented(RULES_SECTION).header).toEqual([...FAILURE_TABLE_HEADER]);
  });

  it('shows every rule of FAILURE_RULES in table order, then the unexpected row, cell by cell', () => {
    const { rows } = documented(RULES_SECTION);
    expect(numbered(rows)).toEqual(numbered(describeFailureRules()));
    expect(rows).toHaveLength(FAILURE_RULES.length + 1);
  });

  it('would differ from a table with a rule added, removed, reordered or changed', () => {
    const { rows } = documented(RULES_SECTION);
    const [first, second, ...rest] = FAILURE_RULES as [FailureRule, FailureRule, ...FailureRule[]];
    const changed = (change: Partial<FailureRule>) => [{ ...first, ...change }, second, ...rest];
    const variants: Record<string, TableRow[]> = {
      added: describeFailureRules([
        ...FAILURE_RULES,
        {
          match: { sqlState: '42' },
          code: ERROR_CODES.internal,
          retry: 'bounded',
          meaning: 'm',
          action: 'a',
        },
      ]),
      removed: describeFailureRules(FAILURE_RULES.slice(0, -1)),
      reordered: describeFailureRules([second, first, ...rest]),
      'match changed': describeFailureRules(changed({ match: { sqlState: '08', routines: ['r'] } })),
      'code changed': describeFailureRules(changed({ code: ERROR_CODES.databaseConflict })),
      'policy changed': describeFailureRules(changed({ retry: 'never' })),
      'meaning changed': describeFailureRules(changed({ meaning: 'another meaning' })),
      'action changed': describeFailureRules(changed({ action: 'Another action.' })),
      'unexpected row changed': describeFailureRules(FAILURE_RULES, {
        ...UNEXPECTED_FAILURE,
        retry: 'never',
      }),
    };
    for (const [variant, variantRows] of Object.entries(variants)) {
      expect({ variant, differs: differs(variantRows, rows) }).toEqual({ variant, differs: true });
    }
  });
});

describe('the table parser', () => {
  it('reads back rendered cells, escaped pipes included', () => {
    const rows: TableRow[] = [
      ['class 99', '`ELS_ERR_INTERNAL`', 'retried without limit', 'a | b', 'run `x || y`'],
      ...describeFailureRules(),
    ];
    const { header, rows: parsed } = onlyTable(markdownTable(FAILURE_TABLE_HEADER, rows));
    expect(header).toEqual([...FAILURE_TABLE_HEADER]);
    expect(numbered(parsed)).toEqual(numbered(rows));
    const catalogue = onlyTable(markdownTable(CATALOGUE_TABLE_HEADER, describeErrorCatalogue()));
    expect(numbered(catalogue.rows)).toEqual(numbered(describeErrorCatalogue()));
  });
});
