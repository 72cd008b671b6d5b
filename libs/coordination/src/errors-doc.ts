import {
  ERROR_CATALOGUE,
  type ErrorCatalogueEntry,
  type ErrorCode,
  type RetryPolicy,
} from './error-catalogue';
import { FAILURE_RULES, UNEXPECTED_FAILURE, type FailureMatch, type FailureRule } from './errors';

/**
 * The two tables of docs/reference/errors.md as they are rendered from the code: the error catalogue (its
 * first table, one row a code) and the classification table ("How PostgreSQL errors are classified").
 * errors-doc.test.ts holds the document equal to what these render, so error-catalogue.ts and errors.ts stay
 * the only places a code or a rule is written down.
 */

/** One row of a documented table, cells as written in markdown (inline code in backticks, unescaped). */
export type TableRow = readonly string[];

export const CATALOGUE_TABLE_HEADER = ['Code', 'Policy', 'Meaning', 'What the operator does'] as const;

export const FAILURE_TABLE_HEADER = ['Match', 'Code', 'Policy', 'Meaning', 'What the operator does'] as const;

/** A code's policy as the catalogue states it: what happens to any failure with that code. */
const CODE_POLICY: Record<RetryPolicy, string> = {
  unbounded: 'retried without limit',
  bounded: '`ELS_RETRY_UNEXPECTED_MAX` attempts',
  never: 'not retried',
};

/** A database rule's policy, which the write probe qualifies before anything is dead-lettered. */
const RULE_POLICY: Record<RetryPolicy, string> = {
  unbounded: 'retried without limit',
  never: 'dead-lettered once the database proves it is writable',
  bounded:
    '`ELS_RETRY_UNEXPECTED_MAX` attempts, then dead-lettered once the database proves it is writable and the failure reproduced',
};

/** The documented catalogue: one row per code, in the catalogue's order. */
export function describeErrorCatalogue(
  catalogue: Readonly<Partial<Record<ErrorCode, ErrorCatalogueEntry>>> = ERROR_CATALOGUE,
): TableRow[] {
  return Object.entries(catalogue).map(([code, entry]) => [
    `\`${code}\``,
    CODE_POLICY[entry.retry],
    entry.meaning,
    entry.action,
  ]);
}

/** The Match cell of a rule: its errnos in backticks, `class 08`, `25006` or `54000 raised by PreCommit_Notify`. */
export function describeFailureMatch(match: FailureMatch): string {
  if ('errnos' in match) return match.errnos.map((errno) => `\`${errno}\``).join(', ');
  const state = match.sqlState.length === 2 ? `class ${match.sqlState}` : match.sqlState;
  return match.routines ? `${state} raised by ${match.routines.join(' or ')}` : state;
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function ruleRow(match: string, rule: Omit<FailureRule, 'match'>): TableRow {
  return [match, `\`${rule.code}\``, RULE_POLICY[rule.retry], sentence(rule.meaning), rule.action];
}

/** The documented rules: one row per rule in table order, then the row for everything else. */
export function describeFailureRules(
  rules: readonly FailureRule[] = FAILURE_RULES,
  unexpected: Omit<FailureRule, 'match'> = UNEXPECTED_FAILURE,
): TableRow[] {
  return [
    ...rules.map((rule) => ruleRow(describeFailureMatch(rule.match), rule)),
    ruleRow('anything else', unexpected),
  ];
}

/** A markdown table (unaligned; Prettier aligns it), pipes in cells escaped. */
export function markdownTable(header: readonly string[], rows: readonly TableRow[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
