import { isValidTraceparent, traceContextOf, traceMetadata } from './trace-context';

const valid = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace context', () => {
  it('accepts the W3C traceparent form, any flags and any version but ff', () => {
    expect(isValidTraceparent(valid)).toBe(true);
    expect(isValidTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')).toBe(true);
    expect(isValidTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBe(true);
  });

  it.each([
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['uppercase hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['a missing field', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7'],
    ['surrounding space', ` ${valid}`],
    ['a trailing field', `${valid}-extra`],
    ['a non-hex digit', '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01'],
    ['a number', 42],
    ['null', null],
  ])('refuses %s', (_, value) => {
    expect(isValidTraceparent(value)).toBe(false);
  });

  it('reads traceparent and tracestate from metadata, or nothing', () => {
    expect(traceContextOf({ traceparent: valid, tracestate: 'rojo=1', other: 1 })).toEqual({
      traceparent: valid,
      tracestate: 'rojo=1',
    });
    expect(traceContextOf({ traceparent: valid })).toEqual({ traceparent: valid });
    expect(traceContextOf({})).toBeNull();
    expect(traceContextOf(null)).toBeNull();
    expect(traceContextOf(undefined)).toBeNull();
  });

  it('drops the whole context, tracestate included, when traceparent is invalid', () => {
    expect(traceContextOf({ traceparent: valid.toUpperCase(), tracestate: 'rojo=1' })).toBeNull();
    expect(traceContextOf({ tracestate: 'rojo=1' })).toBeNull();
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['longer than 512 characters', `a=${'b'.repeat(511)}`],
    ['a control character', 'rojo=1\u0000'],
    ['non-ASCII', 'rojo=å'],
    ['not a string', 7],
  ])('keeps traceparent but drops a tracestate that is %s', (_, tracestate) => {
    expect(traceContextOf({ traceparent: valid, tracestate })).toEqual({ traceparent: valid });
  });

  it('writes the metadata fields of a context', () => {
    expect(traceMetadata(null)).toEqual({});
    expect(traceMetadata({ traceparent: valid })).toEqual({ traceparent: valid });
    expect(traceMetadata({ traceparent: valid, tracestate: 's=1' })).toEqual({
      traceparent: valid,
      tracestate: 's=1',
    });
  });
});
