import { z } from 'zod';

const ratio = z.number().min(0).max(1);
const count = z.number().int().min(0);

/**
 * What one wave of the workload looks like. Every field has a default, so `{}` is a valid (tiny) workload.
 * The same options, seed and `baseTimeMs` always give the same plan, byte for byte.
 */
export const workloadOptionsSchema = z
  .object({
    /** Batches per wave. */
    batches: z.number().int().min(1).default(1),
    /** Slots (essay ids) per registered batch. */
    slots: z.number().int().min(1).max(100_000).default(20),
    /** Distinct texts per batch before excess; defaults to `slots`. */
    texts: count.optional(),
    /** Share of distinct texts that are sent more than once. */
    duplicateRatio: ratio.default(0),
    /** Total copies of one duplicated text, sent back-to-back with keys on different partitions. */
    duplicateConcurrency: z.number().int().min(2).max(1000).default(2),
    /** `same`: copies are byte-identical (a redelivery); `fresh`: each copy has its own event id. */
    duplicateMode: z.enum(['same', 'fresh']).default('same'),
    /** Extra distinct texts beyond `texts`, as a share of `slots` (rounded). */
    excessRatio: z.number().min(0).max(10).default(0),
    /** Share of a batch's distinct texts sent before its registration. */
    beforeRegistration: ratio.default(0),
    /** Share of batches whose registration is never sent (their texts stay pending). */
    withoutRegistration: ratio.default(0),
    /**
     * Extra copies of each registered batch's registration, sent after it: odd copies repeat its event id,
     * even ones carry a new event id. The worker must acknowledge both kinds without a second set of slots.
     */
    registrationRedeliveries: z.number().int().min(0).max(100).default(0),
    /** Validation-failure events per batch (distinct file upload ids). */
    validationFailures: count.default(0),
    /** Malformed messages per batch; classes rotate over the whole run. */
    malformed: count.default(0),
    /** Partition count the keys are spread over (the topics' partition count). */
    partitions: z.number().int().min(1).max(10_000).default(12),
    seed: z.number().int().min(0).max(0xffffffff).default(1),
    /** Prefix of every id the run generates; defaults to `s<seed>`. Use distinct ids for runs sharing a database. */
    runId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (at most 64)')
      .optional(),
    /** Time written into event timestamps (ms since epoch). */
    baseTimeMs: z
      .number()
      .int()
      .min(0)
      .default(Date.UTC(2025, 0, 1)),
  })
  .strict();

export type WorkloadOptionsInput = z.input<typeof workloadOptionsSchema>;

export interface WorkloadOptions extends Omit<z.output<typeof workloadOptionsSchema>, 'texts' | 'runId'> {
  texts: number;
  runId: string;
}

/** Applies defaults and checks ranges; throws a ZodError naming each bad field. */
export function resolveWorkloadOptions(input: WorkloadOptionsInput = {}): WorkloadOptions {
  const parsed = workloadOptionsSchema.parse(input);
  return { ...parsed, texts: parsed.texts ?? parsed.slots, runId: parsed.runId ?? `s${parsed.seed}` };
}
