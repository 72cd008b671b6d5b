import { z } from 'zod';
import { EVENT_DEFINITIONS, EVENT_NAMES, type EventName } from './event-registry';

/** The JSON Schema (draft 2020-12) of an event's envelope, as consumers outside TypeScript read it. */
export function eventJsonSchema(name: EventName): Record<string, unknown> {
  const definition = EVENT_DEFINITIONS[name];
  const schema = z.toJSONSchema(definition.schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    $id: `https://els.invalid/contracts/${definition.topic}.schema.json`,
    title: name,
    description: `${name} on topic ${definition.topic} (${definition.direction === 'in' ? 'consumed' : 'produced'} by ELS)`,
  };
}

/** File name and content of every generated schema under docs/reference/contracts/. */
export function generatedContractFiles(): Array<{ fileName: string; content: string }> {
  return EVENT_NAMES.map((name) => ({
    fileName: `${EVENT_DEFINITIONS[name].topic}.schema.json`,
    content: `${JSON.stringify(eventJsonSchema(name), null, 2)}\n`,
  }));
}
