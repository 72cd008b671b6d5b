import { ConfigError } from '../config';
import { parseInstant, parseReplayArguments, type ReplayArgumentsResult } from './replay-args';
import { parseReplayConfig } from './replay-config';

const argumentsOf = (result: ReplayArgumentsResult) => {
  if (result.kind !== 'arguments') throw new Error(`expected arguments, got ${JSON.stringify(result)}`);
  return result.arguments;
};

const errorOf = (result: ReplayArgumentsResult) => {
  if (result.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return result;
};

describe('replay-dead-letters arguments', () => {
  it('no argument selects every letter, replays for real and reads from the cursor', () => {
    expect(argumentsOf(parseReplayArguments([]))).toEqual({
      codes: [],
      sourceTopics: [],
      includeReplayed: false,
      fromBeginning: false,
      dryRun: false,
    });
  });

  it('codes may be repeated, given as a comma list or with an equals sign, and all add up', () => {
    const parsed = argumentsOf(
      parseReplayArguments([
        '--code',
        'ELS_ERR_INTERNAL',
        '--code=ELS_ERR_DATABASE_REJECTED,ELS_ERR_CONTRACT_NOT_JSON',
      ]),
    );
    expect(parsed.codes).toEqual([
      'ELS_ERR_INTERNAL',
      'ELS_ERR_DATABASE_REJECTED',
      'ELS_ERR_CONTRACT_NOT_JSON',
    ]);
  });

  it('source topics, times and flags are read', () => {
    const parsed = argumentsOf(
      parseReplayArguments([
        '--source-topic',
        'huleedu.file.essay.content.provisioned.v1',
        '--since',
        '2025-03-01T08:00:00Z',
        '--until=2025-03-01T10:30:00+01:00',
        '--include-replayed',
        '--from-beginning',
        '--dry-run',
      ]),
    );
    expect(parsed).toEqual({
      codes: [],
      sourceTopics: ['huleedu.file.essay.content.provisioned.v1'],
      sinceMs: Date.UTC(2025, 2, 1, 8),
      untilMs: Date.UTC(2025, 2, 1, 9, 30),
      includeReplayed: true,
      fromBeginning: true,
      dryRun: true,
    });
  });

  it('--help wins over everything else, even a bad argument after it', () => {
    expect(parseReplayArguments(['--dry-run', '--help', '--bogus'])).toEqual({ kind: 'help' });
    expect(parseReplayArguments(['-h'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['--bogus'], '--bogus', /unknown option/],
    [['ELS_ERR_INTERNAL'], 'ELS_ERR_INTERNAL', /unexpected argument/],
    [['--code'], '--code', /needs a value/],
    [['--code', '--dry-run'], '--code', /needs a value/],
    [['--code', 'internal'], '--code', /"internal" is not an error code/],
    [['--code', 'ELS_ERR_INTERNAL,'], '--code', /"" is not an error code/],
    [['--source-topic', 'no spaces allowed'], '--source-topic', /not a topic name/],
    [['--since', 'yesterday'], '--since', /not an ISO 8601 time/],
    [['--since', '2025-03-01T08:00:00'], '--since', /with a zone/],
    [['--until', '2025-02-30'], '--until', /not an ISO 8601 time/],
    [['--since', '2025-03-01', '--since', '2025-03-02'], '--since', /given twice/],
    [['--since', '2025-03-02', '--until', '2025-03-01'], '--until', /later than --since/],
    [['--dry-run=yes'], '--dry-run', /takes no value/],
  ])('%j is refused naming %s', (argv, argument, message) => {
    const error = errorOf(parseReplayArguments(argv));
    expect(error.argument).toBe(argument);
    expect(error.message).toMatch(message);
  });
});

describe('ISO instants of --since and --until', () => {
  it('a date alone is midnight UTC', () => {
    expect(parseInstant('2025-03-01')).toBe(Date.UTC(2025, 2, 1));
  });

  it('offsets, fractions and a lower-case z give the same instant as its UTC form', () => {
    const utc = Date.UTC(2025, 2, 1, 8, 15, 30, 250);
    expect(parseInstant('2025-03-01T08:15:30.250Z')).toBe(utc);
    expect(parseInstant('2025-03-01t08:15:30.25z')).toBe(utc);
    expect(parseInstant('2025-03-01T10:15:30.250+02:00')).toBe(utc);
    expect(parseInstant('2025-03-01T03:45:30.250-0430')).toBe(utc);
  });

  it('impossible dates and times are refused, not rolled over', () => {
    expect(parseInstant('2025-02-29')).toBeUndefined();
    expect(parseInstant('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
    expect(parseInstant('2025-13-01')).toBeUndefined();
    expect(parseInstant('2025-03-01T24:00Z')).toBeUndefined();
    expect(parseInstant('2025-03-01T08:00+25:00')).toBeUndefined();
  });
});

describe('replay-dead-letters configuration', () => {
  const runtime = { hostname: 'ops', pid: 7 };

  it('needs only the brokers: no database or Redis URL, and logs at warn unless told otherwise', () => {
    const config = parseReplayConfig(
      { ELS_KAFKA_BROKERS: 'k1:9092,k2:9092', ELS_TOPIC_PREFIX: 'prod.' },
      runtime,
    );
    expect(config).toEqual({
      kafkaBrokers: ['k1:9092', 'k2:9092'],
      topicPrefix: 'prod.',
      logLevel: 'warn',
      logPretty: false,
      instanceId: 'ops-7',
    });
    expect(
      parseReplayConfig({ ELS_KAFKA_BROKERS: 'k1:9092', ELS_LOG_LEVEL: 'debug' }, runtime).logLevel,
    ).toBe('debug');
  });

  it('accepts the worker environment file as it is, but checks every key as strictly as the worker', () => {
    const worker = {
      ELS_DATABASE_URL: 'postgres://els@db/els',
      ELS_REDIS_URL: 'redis://cache:6379',
      ELS_KAFKA_BROKERS: 'k1:9092',
      ELS_HTTP_PORT: '6000',
    };
    expect(parseReplayConfig(worker, runtime).kafkaBrokers).toEqual(['k1:9092']);
    const bad = () =>
      parseReplayConfig(
        { ...worker, ELS_DATABASE_URL: 'mysql://db', ELS_TOPIC_PREFX: 'prod.', ELS_KAFKA_BROKERS: undefined },
        runtime,
      );
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (error) {
      expect((error as ConfigError).issues.map((issue) => issue.key)).toEqual([
        'ELS_DATABASE_URL',
        'ELS_KAFKA_BROKERS',
        'ELS_TOPIC_PREFX',
      ]);
    }
  });
});
