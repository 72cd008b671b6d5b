export { TOPICS, INPUT_TOPICS, OUTPUT_TOPICS, topicName, baseTopicOf } from './topics';
export { murmur2, partitionForKey } from './key-partition';
export type { BaseTopic, TopicKey } from './topics';
export {
  ELS_SOURCE_SERVICE,
  SCHEMA_VERSION,
  envelopeSchema,
  rawEnvelopeSchema,
  timestampSchema,
  uuidSchema,
} from './envelope';
export {
  ID_MAX_BYTES,
  ID_LIMITS_DESCRIPTION,
  ID_PATTERN,
  TEXT_FIELD_MAX_BYTES,
  idSchema,
  idSchemaOf,
  possiblyEmptyIdSchema,
  storedTextSchema,
  isWellFormedText,
  utf8ByteLength,
} from './string-limits';
export { COMPLETION_EVENT_MAX_BYTES, completionEventMaxBytes } from './completion-size';
export type { Envelope, RawEnvelope } from './envelope';
export * from './events/batch-essays-registered';
export * from './events/essay-content-provisioned';
export * from './events/essay-validation-failed';
export * from './events/essay-slot-assigned';
export * from './events/excess-content-provisioned';
export * from './events/batch-content-provisioning-completed';
export { EVENT_DEFINITIONS, EVENT_NAMES, eventNameForType } from './event-registry';
export type { EventName, EventOf, ParsedEvent, InputEventName } from './event-registry';
export { CONTRACT_ERROR_CODES, contractError, isContractError, jsonPath } from './contract-error';
export type { ContractError, ContractErrorCode } from './contract-error';
export { parseEnvelope, DEFAULT_MAX_MESSAGE_BYTES } from './parse-envelope';
export type { ParseResult, ParseOptions } from './parse-envelope';
export { uuidV5, deterministicEventId, ELS_EVENT_NAMESPACE } from './event-id';
export {
  buildEssaySlotAssigned,
  buildExcessContentProvisioned,
  buildBatchContentProvisioningCompleted,
} from './output-builders';
export type { OutboundEvent, SlotAssignedInput, ExcessInput, CompletionInput } from './output-builders';
export { eventJsonSchema, generatedContractFiles } from './json-schema';
export {
  TRACESTATE_MAX_LENGTH,
  isValidTraceparent,
  isValidTracestate,
  traceContextOf,
  traceMetadata,
} from './trace-context';
export type { TraceContext } from './trace-context';
