/** Printed by `--help`; docs/guides/event-generator.md explains each flag in more detail. */
export const USAGE = `Usage: node dist/apps/event-generator/main.js <command> [flags]

Commands
  produce   plan a seeded workload and produce it to the ELS input topics
  topics    create the ELS input topics under a prefix (idempotent)
  http      load an HTTP endpoint with autocannon and print latency percentiles
  help      print this text

Shared flags (produce, topics)
  --brokers <list>              comma-separated bootstrap brokers      [127.0.0.1:9092]
  --client-id <id>              Kafka client id                        [event-generator]
  --topic-prefix <prefix>       prepended to every topic name          ['']
  --partitions <n>              partitions of topics this run creates  [12]

produce
  --batches <n>                 batches per wave                       [1]
  --slots <n>                   slots (essay ids) per batch            [20]
  --texts <n>                   distinct texts per batch               [= slots]
  --duplicate-ratio <0..1>      share of texts sent more than once     [0]
  --duplicate-concurrency <n>   copies of each duplicated text, sent back-to-back
                                to different partitions (>= 2)         [2]
  --duplicate-mode same|fresh   copies share one event id, or each has its own [same]
  --excess-ratio <x>            extra distinct texts, as a share of slots [0]
  --before-registration <0..1>  share of texts sent before the batch's registration [0]
  --without-registration <0..1> share of batches never registered      [0]
  --registration-redeliveries <n> extra copies of each registration, sent after it;
                                odd copies repeat its event id, even ones are new [0]
  --validation-failures <n>     validation-failure events per batch    [0]
  --malformed <n>               malformed messages per batch; classes rotate:
                                not-json, wrong-shape, wrong-types, unknown-event-type,
                                empty-essay-ids, oversized (> 1 MiB), control-character-id,
                                oversized-ids, unpaired-surrogate-ids  [0]
  --rate <events/s>             offered rate; 0 = flat out             [0]
  --duration <s>                repeat waves of new batches for this long; 0 = use --waves [0]
  --waves <n>                   number of waves when --duration is 0   [1]
  --seed <n>                    seed of the plan (same seed, same plan) [1]
  --run-id <id>                 prefix of every generated id           [s<seed>]
  --chunk-size <n>              most messages per produce request      [500]
  --progress-interval <s>       progress line period on stderr         [2]
  --out <dir>                   sent.jsonl, expectations.json, summary.json [dist/generator/latest]
  --skip-topic-creation         do not create missing input topics
  --plain-producer              non-idempotent producer (acks=all; a retried request may
                                write some messages twice)
  --quiet                       no progress lines

http
  --url <url>                   target; {id} is replaced by ids in turn (required)
  --duration <s>                                                       [10]
  --connections <n>                                                    [20]
  --pipelining <n>                                                     [1]
  --reconnect-rate <n>          new connection after n requests, 0 never
                                (keep it below the server's keep-alive
                                request limit, e.g. nginx keepalive_requests) [500]
  --ids <list>                  comma-separated ids for {id}
  --sent-log <file>             take the batch ids for {id} from a sent log
  --json                        print the result as JSON

Exit status: 0 success, 1 runtime failure, 2 invalid command line.
`;
