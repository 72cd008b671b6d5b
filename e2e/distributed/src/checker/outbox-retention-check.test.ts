import { judgeOutboxRetention } from './outbox-retention-check';

const settings = { retentionMs: 5000, pruneIntervalMs: 1000 };

describe('the outbox retention check', () => {
  it('accepts a table that shrank with no published row past its retention', () => {
    expect(
      judgeOutboxRetention({ eventsPublished: 300, rowsLeft: 40, overdueRows: 0, waitedMs: 0 }, settings),
    ).toEqual([]);
  });

  it('names published rows that outlived their retention, and a table that never shrank', () => {
    expect(
      judgeOutboxRetention(
        { eventsPublished: 300, rowsLeft: 300, overdueRows: 260, waitedMs: 13_000 },
        settings,
      ),
    ).toEqual([
      '260 published outbox rows older than the retention (5000 ms) plus a pruning interval (1000 ms) after waiting 13000 ms',
      'the outbox never shrank: 300 rows left for 300 events published',
    ]);
  });
});
