import { CliUsageError, parseCommandLine } from './cli-args';

describe('command line', () => {
  it('parses a full produce command', () => {
    const command = parseCommandLine(
      (
        'produce --brokers 127.0.0.1:9092,127.0.0.1:9093 --batches 10 --slots 20 --duplicate-ratio 0.1 ' +
        '--duplicate-concurrency 5 --excess-ratio 0.1 --before-registration 0.2 --validation-failures 1 ' +
        '--malformed 3 --rate 1000 --duration 30 --seed 42 --topic-prefix x. --out dist/generator/run1'
      ).split(' '),
    );
    expect(command).toMatchObject({
      command: 'produce',
      brokers: ['127.0.0.1:9092', '127.0.0.1:9093'],
      outDir: 'dist/generator/run1',
      createTopics: true,
      workload: {
        batches: 10,
        slots: 20,
        duplicateRatio: 0.1,
        duplicateConcurrency: 5,
        excessRatio: 0.1,
        beforeRegistration: 0.2,
        validationFailures: 1,
        malformed: 3,
        seed: 42,
      },
      produce: { topicPrefix: 'x.', ratePerSec: 1000, durationMs: 30_000 },
    });
  });

  it('applies defaults', () => {
    expect(parseCommandLine(['produce'])).toMatchObject({
      brokers: ['127.0.0.1:9092'],
      workload: { batches: 1, slots: 20, seed: 1 },
      produce: { ratePerSec: 0, durationMs: 0, waves: 1, topicPrefix: '' },
    });
  });

  it('names every bad flag', () => {
    expect(() => parseCommandLine(['produce', '--duplicate-ratio', '1.5', '--slots', 'many'])).toThrow(
      /--duplicate-ratio: must be at most 1[\s\S]*--slots: must be a whole number|--slots: must be a whole number[\s\S]*--duplicate-ratio/,
    );
    expect(() => parseCommandLine(['produce', '--topic-prefix', 'a b'])).toThrow(/--topic-prefix/);
    expect(() => parseCommandLine(['produce', '--duplicate-concurrency', '1'])).toThrow(
      /--duplicate-concurrency: must be at least 2/,
    );
  });

  it('rejects unknown flags and commands as usage errors', () => {
    expect(() => parseCommandLine(['produce', '--bogus', '1'])).toThrow(CliUsageError);
    expect(() => parseCommandLine(['produce', '--bogus', '1'])).toThrow(/--bogus/);
    expect(() => parseCommandLine(['consume'])).toThrow(/unknown command "consume"/);
  });

  it('parses the http command and requires a URL', () => {
    expect(
      parseCommandLine(['http', '--url', 'http://127.0.0.1:6000/v1/batches/{id}/status', '--ids', 'a,b']),
    ).toMatchObject({ command: 'http', durationS: 10, connections: 20, reconnectRate: 500, ids: ['a', 'b'] });
    expect(parseCommandLine(['http', '--url', 'http://x/', '--reconnect-rate', '0'])).toMatchObject({
      reconnectRate: 0,
    });
    expect(() => parseCommandLine(['http', '--url', 'http://x/', '--reconnect-rate', '-1'])).toThrow(
      /--reconnect-rate/,
    );
    expect(() => parseCommandLine(['http'])).toThrow(/--url/);
    expect(() => parseCommandLine(['http', '--url', 'ftp://x'])).toThrow(/--url/);
  });

  it('treats --help anywhere as a request for usage', () => {
    expect(parseCommandLine([])).toEqual({ command: 'help' });
    expect(parseCommandLine(['produce', '--help'])).toEqual({ command: 'help' });
  });
});
