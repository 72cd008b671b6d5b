import {
  FAILURE_RULES,
  UNEXPECTED_FAILURE,
  type FailureMatch,
  type FailureRule,
  type RetryPolicy,
} from './errors';

/**
 * The classification table as docs/reference/errors.md shows it ("How PostgreSQL errors are classified").
 * failure-rules-doc.test.ts holds the document equal to what this renders, so the table in errors.ts stays
 * the only place a rule is written down.
 */

export const FAILURE_TABLE_HEADER = ['Match', 'Code', 'Policy', 'Meaning', 'What the operator does'] as const;

/** One row of the documented table, cells as written in markdown (inline code in backticks, unescaped). */
export type FailureTableRow = readonly [
  match: string,
  code: string,
  policy: string,
  meaning: string,
  action: string,
];

const POLICY: Record<RetryPolicy, string> = {
  unbounded: 'retried without limit',
  never: 'dead-lettered once the database proves it is writable',
  bounded:
    '`ELS_RETRY_UNEXPECTED_MAX` attempts, then dead-lettered once the database proves it is writable and the failure reproduced',
};

/** The Match cell of a rule: its errnos in backticks, `class 08`, `25006` or `54000 raised by PreCommit_Notify`. */
export function describeFailureMatch(match: FailureMatch): string {
  if ('errnos' in match) return match.errnos.map((errno) => `\`${errno}\``).join(', ');
  const state = match.sqlState.length === 2 ? `class ${match.sqlState}` : match.sqlState;
  return match.routines ? `${state} raised by ${match.routines.join(' or ')}` : state;
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

function row(match: string, rule: Omit<FailureRule, 'match'>): FailureTableRow {
  return [match, `\`${rule.code}\``, POLICY[rule.retry], sentence(rule.meaning), rule.action];
}

/** The documented rows: one per rule in table order, then the row for everything else. */
export function describeFailureRules(
  rules: readonly FailureRule[] = FAILURE_RULES,
  unexpected: Omit<FailureRule, 'match'> = UNEXPECTED_FAILURE,
): FailureTableRow[] {
  return [
    ...rules.map((rule) => row(describeFailureMatch(rule.match), rule)),
    row('anything else', unexpected),
  ];
}

/** A markdown table of the rows (unaligned; Prettier aligns it), pipes in cells escaped. */
export function failureRulesMarkdown(rows: readonly FailureTableRow[] = describeFailureRules()): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(FAILURE_TABLE_HEADER), line(FAILURE_TABLE_HEADER.map(() => '---')), ...rows.map(line)].join(
    '\n',
  );
}
