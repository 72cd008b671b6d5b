import type { z } from 'zod';
import { batchContentProvisioningCompletedSchema } from './events/batch-content-provisioning-completed';
import { batchEssaysRegisteredSchema } from './events/batch-essays-registered';
import { essayContentProvisionedSchema } from './events/essay-content-provisioned';
import { essaySlotAssignedSchema } from './events/essay-slot-assigned';
import { essayValidationFailedSchema } from './events/essay-validation-failed';
import { excessContentProvisionedSchema } from './events/excess-content-provisioned';
import { TOPICS, type BaseTopic } from './topics';

/**
 * Every event of the wire contract, keyed by its `event_type` (the base topic name). Adding an event
 * means adding one entry here (see docs/guides/extending-contracts.md).
 */
export const EVENT_DEFINITIONS = {
  BatchEssaysRegistered: {
    topic: TOPICS.batchEssaysRegistered,
    direction: 'in',
    schema: batchEssaysRegisteredSchema,
  },
  EssayContentProvisionedV1: {
    topic: TOPICS.essayContentProvisioned,
    direction: 'in',
    schema: essayContentProvisionedSchema,
  },
  EssayValidationFailedV1: {
    topic: TOPICS.essayValidationFailed,
    direction: 'in',
    schema: essayValidationFailedSchema,
  },
  EssaySlotAssignedV1: {
    topic: TOPICS.essaySlotAssigned,
    direction: 'out',
    schema: essaySlotAssignedSchema,
  },
  ExcessContentProvisionedV1: {
    topic: TOPICS.excessContentProvisioned,
    direction: 'out',
    schema: excessContentProvisionedSchema,
  },
  BatchContentProvisioningCompletedV1: {
    topic: TOPICS.batchContentProvisioningCompleted,
    direction: 'out',
    schema: batchContentProvisioningCompletedSchema,
  },
} as const satisfies Record<string, { topic: BaseTopic; direction: 'in' | 'out'; schema: z.ZodType }>;

export type EventName = keyof typeof EVENT_DEFINITIONS;
export type EventOf<N extends EventName> = z.infer<(typeof EVENT_DEFINITIONS)[N]['schema']>;

/** A parsed event tagged with its contract name, so a `switch (event.name)` narrows `event.envelope`. */
export type ParsedEvent = { [N in EventName]: { name: N; envelope: EventOf<N> } }[EventName];
export type InputEventName = {
  [N in EventName]: (typeof EVENT_DEFINITIONS)[N]['direction'] extends 'in' ? N : never;
}[EventName];

export const EVENT_NAMES = Object.keys(EVENT_DEFINITIONS) as EventName[];

export function eventNameForType(eventType: string): EventName | undefined {
  return EVENT_NAMES.find((name) => EVENT_DEFINITIONS[name].topic === eventType);
}
