/** Metric names a PromQL expression reads (not functions, keywords, labels, strings or durations). */

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
  'atan2',
]);

export function metricNamesIn(expr: string): string[] {
  let text = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  text = text.replace(/\{[^}]*\}/g, ' ');
  text = text.replace(/\[[^\]]*\]/g, ' ');
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of text.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = match[0];
    const index = match.index ?? 0;
    if (KEYWORDS.has(name.toLowerCase())) continue;
    // The exponent of a number (1e3) or a Grafana variable ($__interval).
    if (index > 0 && /[0-9.$]/.test(text[index - 1] ?? '')) continue;
    if (
      text
        .slice(index + name.length)
        .trimStart()
        .startsWith('(')
    )
      continue;
    names.add(name);
  }
  return [...names];
}

/** The name a series family is exported under: histogram and summary series carry suffixes. */
export function familyOf(series: string): string {
  return series.replace(/_(bucket|sum|count)$/, '');
}

/** Metric families listed by `# TYPE` lines of a Prometheus text exposition. */
export function exportedFamilies(exposition: string): Set<string> {
  return new Set([...exposition.matchAll(/^# TYPE (\S+) \S+$/gm)].map((match) => match[1] as string));
}
