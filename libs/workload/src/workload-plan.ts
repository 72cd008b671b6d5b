import { COURSE_CODES, TOPICS, partitionForKey, type BaseTopic } from '@els/contracts';
import { makeContent, makeRegistration, makeValidationFailure, toWire } from '@els/contracts/testing';
import { MALFORMED_CLASSES, buildMalformedMessage, type MalformedClass } from './malformed-message';
import { createSeededRandom, type SeededRandom } from './seeded-random';
import { planTraceContext } from './trace-context-plan';
import { resolveWorkloadOptions, type WorkloadOptions, type WorkloadOptionsInput } from './workload-options';

export type SendKind =
  'registration' | 'registration-redelivery' | 'content' | 'duplicate' | 'validation-failure' | 'malformed';

/** One message the generator will produce. `topic` is the base topic; the producer adds the prefix. */
export interface PlannedSend {
  topic: BaseTopic;
  key: string;
  value: Buffer;
  kind: SendKind;
  batchId: string;
  textStorageId?: string;
  fileUploadId?: string;
  eventId?: string;
  malformedClass?: MalformedClass;
  /** The envelope's correlation id (every valid event). */
  correlationId?: string;
  /** Content: `data.original_file_name`, which the slot-assigned or excess event must repeat. */
  originalFileName?: string;
  /** Registrations: `data.course_code` and `data.user_id`, which the completion must repeat. */
  courseCode?: string;
  userId?: string;
  /**
   * Every valid event: the trace context in its envelope's `metadata` (see ./trace-context-plan), which
   * the outputs it causes must carry when the traceparent is valid.
   */
  traceparent?: string;
  tracestate?: string;
}

/** What the worker must end with for one batch, derived only from what the plan sends. */
export interface BatchExpectation {
  batchId: string;
  wave: number;
  slots: number;
  essayIds: string[];
  /** Distinct texts of the batch (each sent once or, when duplicated, several times). */
  textStorageIds: string[];
  duplicatedTextStorageIds: string[];
  validationFailureFileIds: string[];
  registrationSent: boolean;
  textsBeforeRegistration: string[];
  malformedClasses: MalformedClass[];
  /** True when the batch is registered and distinct texts plus failures cover every slot. */
  completionExpected: boolean;
  /** Bounds on assigned slots; equal when distinct texts plus failures do not exceed the slots. */
  assigned: { min: number; max: number };
}

export interface WavePlan {
  wave: number;
  sends: PlannedSend[];
  expectations: BatchExpectation[];
}

export interface WorkloadPlan {
  options: WorkloadOptions;
  waves: WavePlan[];
}

/** Sends that must go out consecutively (the copies of one duplicated text). */
type SendUnit = PlannedSend[];

/** Random keys whose partitions differ from each other as far as the partition count allows. */
function keysOnDistinctPartitions(random: SeededRandom, copies: number, partitions: number): string[] {
  const keys: string[] = [];
  const used = new Set<number>();
  for (let copy = 0; copy < copies; copy += 1) {
    let key = random.uuid();
    for (let attempt = 0; attempt < 64 && used.size < partitions; attempt += 1) {
      if (!used.has(partitionForKey(key, partitions))) break;
      key = random.uuid();
    }
    used.add(partitionForKey(key, partitions));
    keys.push(key);
  }
  return keys;
}

function assignedBounds(slots: number, texts: number, failures: number, registered: boolean) {
  if (!registered) return { min: 0, max: 0 };
  if (texts + failures <= slots) return { min: texts, max: texts };
  return { min: Math.min(texts, Math.max(0, slots - failures)), max: Math.min(texts, slots) };
}

function planBatch(
  options: WorkloadOptions,
  wave: number,
  index: number,
  registered: boolean,
): { units: SendUnit[]; expectation: BatchExpectation } {
  const random = createSeededRandom(options.seed).fork(`${options.runId}/batch/${wave}/${index}`);
  const at = new Date(options.baseTimeMs);
  const batchId = `${options.runId}-w${wave}-b${index}`;
  const essayIds = Array.from({ length: options.slots }, (_, n) => `${batchId}-e${n + 1}`);
  const distinct = options.texts + Math.round(options.slots * options.excessRatio);
  const textIds = Array.from({ length: distinct }, (_, n) => `${batchId}-t${n + 1}`);
  const duplicated = new Set(
    random.shuffle([...textIds]).slice(0, Math.round(distinct * options.duplicateRatio)),
  );

  const contentUnits: SendUnit[] = textIds.map((textStorageId, n) => {
    const copies = duplicated.has(textStorageId) ? options.duplicateConcurrency : 1;
    const keys = keysOnDistinctPartitions(random, copies, options.partitions);
    const correlationId = random.uuid();
    const firstEventId = random.uuid();
    return keys.map((key, copy) => {
      const eventId = copy === 0 || options.duplicateMode === 'same' ? firstEventId : random.uuid();
      const fileUploadId = `${batchId}-f${n + 1}`;
      const traceContext = planTraceContext(options.seed, options.runId, eventId);
      const event = makeContent({
        batchId,
        textStorageId,
        fileUploadId,
        eventId,
        correlationId,
        at,
        traceContext,
      });
      const kind: SendKind = copy === 0 ? 'content' : 'duplicate';
      return {
        topic: TOPICS.essayContentProvisioned,
        key,
        value: toWire(event),
        kind,
        batchId,
        textStorageId,
        fileUploadId,
        eventId,
        correlationId,
        originalFileName: event.data.original_file_name,
        ...traceContext,
      };
    });
  });

  const failureIds = Array.from({ length: options.validationFailures }, (_, n) => `${batchId}-vf${n + 1}`);
  const failureUnits: SendUnit[] = failureIds.map((fileUploadId) => {
    const eventId = random.uuid();
    const correlationId = random.uuid();
    const traceContext = planTraceContext(options.seed, options.runId, eventId);
    const event = makeValidationFailure({ batchId, fileUploadId, eventId, correlationId, at, traceContext });
    const kind: SendKind = 'validation-failure';
    return [
      {
        topic: TOPICS.essayValidationFailed,
        key: random.uuid(),
        value: toWire(event),
        kind,
        batchId,
        fileUploadId,
        eventId,
        correlationId,
        ...traceContext,
      },
    ];
  });

  const malformedClasses: MalformedClass[] = [];
  const malformedUnits: SendUnit[] = Array.from({ length: options.malformed }, (_, j) => {
    const globalIndex = (wave * options.batches + index) * options.malformed + j;
    const malformedClass = MALFORMED_CLASSES[globalIndex % MALFORMED_CLASSES.length] as MalformedClass;
    malformedClasses.push(malformedClass);
    const message = buildMalformedMessage({ malformedClass, batchId, index: j + 1, random, at });
    const kind: SendKind = 'malformed';
    return [{ ...message, key: random.uuid(), kind, batchId, malformedClass }];
  });

  const units = random.shuffle([...contentUnits, ...failureUnits, ...malformedUnits]);
  const textsBeforeRegistration: string[] = [];
  if (registered) {
    const before = Math.round(distinct * options.beforeRegistration);
    let position = 0;
    while (textsBeforeRegistration.length < before && position < units.length) {
      const first = units[position]?.[0];
      if (first?.kind === 'content' && first.textStorageId) textsBeforeRegistration.push(first.textStorageId);
      position += 1;
    }
    const eventId = random.uuid();
    const courseCode = COURSE_CODES[random.int(COURSE_CODES.length)];
    const userId = `${options.runId}-user`;
    // Re-sends below keep this context: they are the same registration.
    const traceContext = planTraceContext(options.seed, options.runId, eventId);
    const registration = makeRegistration({
      batchId,
      essayIds,
      eventId,
      courseCode,
      correlationId: random.uuid(),
      userId,
      at,
      traceContext,
    });
    const kind: SendKind = 'registration';
    const described = { correlationId: registration.correlation_id, courseCode, userId, ...traceContext };
    units.splice(position, 0, [
      {
        topic: TOPICS.batchEssaysRegistered,
        key: batchId,
        value: toWire(registration),
        kind,
        batchId,
        eventId,
        ...described,
      },
    ]);
    // Redeliveries come later in the batch's order: odd copies repeat the event byte for byte (a consumer
    // redelivery), even ones are the same registration under a new event id (a re-send by its producer).
    for (let copy = 1; copy <= options.registrationRedeliveries; copy += 1) {
      const copyEventId = copy % 2 === 1 ? eventId : random.uuid();
      const value =
        copy % 2 === 1 ? toWire(registration) : toWire({ ...registration, event_id: copyEventId });
      const at = position + 1 + random.int(units.length - position);
      units.splice(at, 0, [
        {
          topic: TOPICS.batchEssaysRegistered,
          key: batchId,
          value,
          kind: 'registration-redelivery',
          batchId,
          eventId: copyEventId,
          ...described,
        },
      ]);
    }
  }

  const expectation: BatchExpectation = {
    batchId,
    wave,
    slots: options.slots,
    essayIds,
    textStorageIds: textIds,
    duplicatedTextStorageIds: textIds.filter((id) => duplicated.has(id)),
    validationFailureFileIds: failureIds,
    registrationSent: registered,
    textsBeforeRegistration,
    malformedClasses,
    completionExpected: registered && distinct + failureIds.length >= options.slots,
    assigned: assignedBounds(options.slots, distinct, failureIds.length, registered),
  };
  return { units, expectation };
}

/**
 * Event ids and every random choice derive from the seed and the run id, so two runs with the same seed
 * but different run ids never share an event id.
 *
 * Plans one wave: `batches` new batches whose sends are interleaved at random while each batch keeps its
 * own order (so "before registration" holds in send order) and duplicate copies stay back-to-back.
 * Pure: depends only on the options and the wave number.
 */
export function planWave(options: WorkloadOptions, wave: number): WavePlan {
  const random = createSeededRandom(options.seed).fork(`${options.runId}/wave/${wave}`);
  const indices = Array.from({ length: options.batches }, (_, i) => i);
  const unregistered = new Set(
    random.shuffle([...indices]).slice(0, Math.round(options.batches * options.withoutRegistration)),
  );
  const batches = indices.map((i) => planBatch(options, wave, i, !unregistered.has(i)));

  const queues = batches.map((batch) => ({ units: batch.units, next: 0 })).filter((q) => q.units.length > 0);
  const sends: PlannedSend[] = [];
  while (queues.length > 0) {
    const pick = random.int(queues.length);
    const queue = queues[pick];
    if (!queue) break;
    sends.push(...(queue.units[queue.next] ?? []));
    queue.next += 1;
    if (queue.next >= queue.units.length) {
      queues[pick] = queues[queues.length - 1] ?? queue;
      queues.pop();
    }
  }
  return { wave, sends, expectations: batches.map((batch) => batch.expectation) };
}

/** Plans a fixed number of waves up front (the producer plans wave by wave for duration runs). */
export function createPlan(input: WorkloadOptionsInput = {}, waves = 1): WorkloadPlan {
  const options = resolveWorkloadOptions(input);
  return { options, waves: Array.from({ length: waves }, (_, wave) => planWave(options, wave)) };
}
