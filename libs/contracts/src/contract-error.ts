/** Stable codes of everything that makes a message unusable. All are non-retriable: retrying cannot help. */
export const CONTRACT_ERROR_CODES = {
  tooLarge: 'ELS_ERR_CONTRACT_TOO_LARGE',
  notJson: 'ELS_ERR_CONTRACT_NOT_JSON',
  invalidEnvelope: 'ELS_ERR_CONTRACT_INVALID_ENVELOPE',
  unknownEventType: 'ELS_ERR_CONTRACT_UNKNOWN_EVENT_TYPE',
  invalidData: 'ELS_ERR_CONTRACT_INVALID_DATA',
} as const;

export type ContractErrorCode = (typeof CONTRACT_ERROR_CODES)[keyof typeof CONTRACT_ERROR_CODES];

/** Why a message does not satisfy the contract: a value, never thrown by `parseEnvelope`. */
export interface ContractError {
  readonly kind: 'contract-error';
  readonly code: ContractErrorCode;
  /** JSON path of the first offending value, e.g. `$.data.essay_ids[2]` (`$` for the whole message). */
  readonly path: string;
  readonly reason: string;
  /** Every problem found, first one repeated in `path` / `reason`. */
  readonly issues: ReadonlyArray<{ path: string; reason: string }>;
  readonly retriable: false;
}

export function contractError(
  code: ContractErrorCode,
  issues: ReadonlyArray<{ path: string; reason: string }>,
): ContractError {
  const first = issues[0] ?? { path: '$', reason: 'invalid message' };
  return { kind: 'contract-error', code, path: first.path, reason: first.reason, issues, retriable: false };
}

export function isContractError(value: unknown): value is ContractError {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'contract-error'
  );
}

/** `['data', 'essay_ids', 2]` → `$.data.essay_ids[2]` */
export function jsonPath(segments: ReadonlyArray<PropertyKey>): string {
  return segments.reduce<string>(
    (acc, segment) => (typeof segment === 'number' ? `${acc}[${segment}]` : `${acc}.${String(segment)}`),
    '$',
  );
}
