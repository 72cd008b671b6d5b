import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { classifySendError } from './send-error';

describe('send error classification', () => {
  it('treats a refused oversized message as final for that message', () => {
    const cause = Object.assign(new Error('too large'), {
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
    });
    const error = new KafkaJSProtocolError(cause);
    expect(classifySendError(error)).toBe('too-large');
  });

  it('retries connection trouble, also after kafkajs gave up its own retries', () => {
    const connection = new KafkaJSConnectionError('Connection error: ECONNREFUSED');
    expect(classifySendError(connection)).toBe('retriable');
    expect(
      classifySendError(new KafkaJSNumberOfRetriesExceeded(connection, { retryCount: 5, retryTime: 100 })),
    ).toBe('retriable');
  });

  it('stops on anything else', () => {
    expect(classifySendError(new TypeError('bad'))).toBe('fatal');
    expect(classifySendError('string')).toBe('fatal');
  });
});
