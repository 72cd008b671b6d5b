import { z } from 'zod';

/**
 * Limits on the strings an event carries into PostgreSQL, so that every event the contract accepts can
 * be stored (no poison pill). An id or text the database or its driver would refuse or rewrite is a
 * contract error instead, dead-lettered with `ELS_ERR_CONTRACT_INVALID_DATA`.
 *
 * Why 512 bytes: the widest index entries are the two-text-column unique indexes
 * (batch_id, text_storage_id) of essay_states, pending_content and excess_reports and
 * (batch_id, file_upload_id) of validation_failures. A btree entry may hold at most 2704 bytes on
 * PostgreSQL's 8 KiB pages (a third of a page). Two ids of 512 bytes take 2 × (512 + 4-byte varlena
 * header + up to 3 bytes of alignment) + an 8-byte index tuple header = 1046 bytes, well within it, with
 * room for a third column in a later index. 512 CJK characters (1536 bytes of UTF-8) in both columns
 * would not fit (3080 bytes: `index row size … exceeds btree maximum`, SQLSTATE 54000).
 */
export const ID_MAX_BYTES = 512;

/**
 * Free text stored next to the ids (`original_file_name`): unindexed, but copied into every slot-assigned
 * and excess event, so bounded too (4096 bytes, the usual PATH_MAX, is far beyond any file name).
 */
export const TEXT_FIELD_MAX_BYTES = 4096;

/** U+0000–U+001F and U+007F: excluded from ids (NUL breaks PostgreSQL text, the rest breaks logs and URLs). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point of the pattern
export const ID_PATTERN = /^[^\u0000-\u001f\u007f]*$/;

/** `String.prototype.isWellFormed` (ES2024, Node 20) without widening the TypeScript lib for every project. */
interface WellFormedCheck {
  isWellFormed(): boolean;
}

/** False when the string holds an unpaired surrogate (as a JSON `\ud800` escape produces). */
export function isWellFormedText(value: string): boolean {
  return (value as unknown as WellFormedCheck).isWellFormed();
}

export function utf8ByteLength(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

export const ID_LIMITS_DESCRIPTION =
  `At most ${ID_MAX_BYTES} bytes in UTF-8, well-formed UTF-16 (no unpaired surrogate), ` +
  'no control characters (U+0000-U+001F, U+007F).';

/**
 * A string with the storage rules of an id: well-formed UTF-16, no control characters, at most
 * ID_MAX_BYTES in UTF-8. `maxLength` in the JSON Schema is the same limit in characters (a character is
 * at least one byte), the byte limit itself is in the description.
 */
function idString(minLength: number, description: string) {
  return z
    .string()
    .min(minLength, { error: 'must not be empty' })
    .max(ID_MAX_BYTES, { error: `must be at most ${ID_MAX_BYTES} bytes in UTF-8` })
    .regex(ID_PATTERN, { error: 'must not contain NUL or other control characters (U+0000-U+001F, U+007F)' })
    .refine(isWellFormedText, { error: 'must be well-formed UTF-16 (it holds an unpaired surrogate)' })
    .refine((value) => utf8ByteLength(value) <= ID_MAX_BYTES, {
      error: (issue) =>
        `must be at most ${ID_MAX_BYTES} bytes in UTF-8 (has ${utf8ByteLength(String(issue.input))})`,
    })
    .describe(description);
}

/** A non-empty opaque id (batch, essay, file, text, user and class ids). */
export const idSchema = idString(1, ID_LIMITS_DESCRIPTION);

/** The id schema with what the id names in front of its limits, for the generated JSON Schema. */
export function idSchemaOf(meaning: string) {
  return idString(1, `${meaning}. ${ID_LIMITS_DESCRIPTION}`);
}

/** An id-shaped value that may be empty (a validation failure's raw file id when raw storage failed). */
export const possiblyEmptyIdSchema = idString(0, `May be empty. ${ID_LIMITS_DESCRIPTION}`);

/** Free text stored as it is: well-formed UTF-16, no NUL, at most TEXT_FIELD_MAX_BYTES in UTF-8. */
export const storedTextSchema = z
  .string()
  .max(TEXT_FIELD_MAX_BYTES, { error: `must be at most ${TEXT_FIELD_MAX_BYTES} bytes in UTF-8` })
  // eslint-disable-next-line no-control-regex -- NUL is what the pattern excludes
  .regex(/^[^\u0000]*$/, { error: 'must not contain NUL (U+0000)' })
  .refine(isWellFormedText, { error: 'must be well-formed UTF-16 (it holds an unpaired surrogate)' })
  .refine((value) => utf8ByteLength(value) <= TEXT_FIELD_MAX_BYTES, {
    error: (issue) =>
      `must be at most ${TEXT_FIELD_MAX_BYTES} bytes in UTF-8 (has ${utf8ByteLength(String(issue.input))})`,
  })
  .describe(
    `At most ${TEXT_FIELD_MAX_BYTES} bytes in UTF-8, well-formed UTF-16 (no unpaired surrogate), no NUL.`,
  );
