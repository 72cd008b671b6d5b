import {
  createPacketFilter,
  packetFilterTag,
  refusalRuleArgs,
  ruleWords,
  type IptablesRunner,
} from './packet-filter';

/** An iptables that keeps its OUTPUT chain in memory and lists it as `iptables -S OUTPUT` does. */
function fakeIptables(initial: string[] = []) {
  const chain = [...initial];
  const calls: string[] = [];
  const run: IptablesRunner = async (args) => {
    calls.push(args.join(' '));
    const [command, , ...spec] = args;
    const line = `-A OUTPUT ${spec.join(' ')}`;
    if (command === '-S') return ['-P OUTPUT ACCEPT', ...chain].join('\n') + '\n';
    if (command === '-I') {
      chain.unshift(line);
      return '';
    }
    if (command === '-D') {
      const at = chain.indexOf(line);
      if (at < 0)
        throw new Error(`iptables ${args.join(' ')}: Bad rule (does a matching rule exist in that chain?).`);
      chain.splice(at, 1);
      return '';
    }
    throw new Error(`unexpected iptables ${args.join(' ')}`);
  };
  return { chain, calls, run };
}

const TAG = 'els-e2e-s7-faults-3r-p4242';

describe('packet filter rules of net-refuse', () => {
  it('tags rules with the run label and the suite process, as one word', () => {
    expect(packetFilterTag('s7-faults-3r', 4242)).toBe(TAG);
    expect(packetFilterTag('a label with spaces', 7)).toBe('els-e2e-a_label_with_spaces-p7');
  });

  it('rejects new TCP connections to exactly the proxy port, with the drawn refusal', () => {
    expect(refusalRuleArgs(TAG, { host: '127.0.0.1', port: 40123, refusal: 'icmp-net-unreachable' })).toEqual(
      'OUTPUT -p tcp -d 127.0.0.1 --dport 40123 -m comment --comment els-e2e-s7-faults-3r-p4242 -j REJECT --reject-with icmp-net-unreachable'.split(
        ' ',
      ),
    );
  });

  it('inserts and deletes the rule, and a rule already removed is no error', async () => {
    const iptables = fakeIptables();
    const filter = createPacketFilter({ tag: TAG, run: iptables.run });
    const rule = { host: '127.0.0.1', port: 40123, refusal: 'tcp-reset' } as const;
    await filter.refuse(rule);
    expect(iptables.chain).toEqual([
      '-A OUTPUT -p tcp -d 127.0.0.1 --dport 40123 -m comment --comment els-e2e-s7-faults-3r-p4242 -j REJECT --reject-with tcp-reset',
    ]);
    await filter.remove(rule);
    expect(iptables.chain).toEqual([]);
    await expect(filter.remove(rule)).resolves.toBeUndefined();
  });

  it("removes exactly the run's rules, not another run's or anything else", async () => {
    // As iptables -S lists them: normalised addresses, an implicit tcp match, quoted comments.
    const ours = `-A OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 40123 -m comment --comment ${TAG} -j REJECT --reject-with icmp-host-unreachable`;
    const another = `-A OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 40999 -m comment --comment els-e2e-s7-faults-3r-p${process.pid} -j REJECT --reject-with tcp-reset`;
    const foreign = '-A OUTPUT -d 10.0.0.0/8 -m comment --comment "site policy" -j DROP';
    const iptables = fakeIptables([ours, another, foreign]);
    const filter = createPacketFilter({ tag: TAG, run: iptables.run });
    expect(await filter.removeTagged()).toBe(1);
    expect(iptables.chain).toEqual([another, foreign]);
    expect(iptables.calls).toContain(
      `-D OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 40123 -m comment --comment ${TAG} -j REJECT --reject-with icmp-host-unreachable`,
    );
  });

  it('removes the rules of suite processes that are gone, and keeps those of live ones', async () => {
    const rule = (pid: number, port: number) =>
      `-A OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport ${port} -m comment --comment els-e2e-s7-faults-3r-p${pid} -j REJECT --reject-with tcp-reset`;
    const foreign =
      '-A OUTPUT -p tcp -m tcp --dport 22 -m comment --comment "els-e2e-p1 lookalike" -j ACCEPT';
    const iptables = fakeIptables([rule(111, 40001), rule(222, 40002), rule(process.pid, 40003), foreign]);
    const filter = createPacketFilter({ tag: TAG, run: iptables.run, isAlive: (pid) => pid === 222 });
    expect(await filter.removeLeftovers()).toEqual([rule(111, 40001)]);
    expect(iptables.chain).toEqual([rule(222, 40002), rule(process.pid, 40003), foreign]);
  });

  it('probes once, inserting and deleting a rule with every match it uses, and leaves nothing behind', async () => {
    const iptables = fakeIptables();
    const filter = createPacketFilter({ tag: TAG, run: iptables.run });
    expect(await filter.unavailable()).toBeUndefined();
    expect(await filter.unavailable()).toBeUndefined();
    expect(iptables.calls.filter((call) => call.startsWith('-I'))).toEqual([
      '-I OUTPUT -p tcp -d 127.0.0.1 --dport 9 -m comment --comment els-e2e-s7-faults-3r-p4242 -j REJECT --reject-with tcp-reset',
    ]);
    expect(iptables.chain).toEqual([]);
  });

  it('names why rules cannot be used: not installed, not allowed', async () => {
    const missing = createPacketFilter({
      tag: TAG,
      run: async () => {
        throw Object.assign(new Error('spawn iptables ENOENT'), { code: 'ENOENT' });
      },
    });
    expect(await missing.unavailable()).toMatch(/iptables is not installed/);
    const denied = createPacketFilter({
      tag: TAG,
      run: async (args) => {
        throw Object.assign(new Error(`iptables ${args.join(' ')}: Permission denied (you must be root).`), {
          code: 4,
        });
      },
    });
    expect(await denied.unavailable()).toMatch(/^iptables cannot be used here \(.*Permission denied/);
  });

  it('reads a listed rule word by word, a quoted comment as one word', () => {
    expect(ruleWords('-A OUTPUT -m comment --comment "two words" -j DROP')).toEqual([
      '-A',
      'OUTPUT',
      '-m',
      'comment',
      '--comment',
      'two words',
      '-j',
      'DROP',
    ]);
  });
});
