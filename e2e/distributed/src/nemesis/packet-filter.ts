import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { ConnectionRefusal } from './fault-schedule';

/**
 * Packet filter rules for the `net-refuse` fault: an iptables REJECT rule in the OUTPUT chain on one
 * replica's proxy port for one dependency, so that replica's new connections to it are refused or
 * unreachable (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH) while every other replica, the suite and the
 * proxy's own connection to the service are untouched. A userspace proxy cannot produce these errnos:
 * they are the kernel's answer to a connect.
 *
 * Every rule carries its run's comment (`els-e2e-<label>-p<pid>`, the pid of the suite process), so that
 * healing removes exactly the run's rules, and rules a suite process left when it died before healing
 * (its pid is gone) are removed when the next run starts: left behind, a rule would refuse whatever later
 * listens on that ephemeral port.
 */

/** Runs iptables with these arguments and returns its standard output. */
export type IptablesRunner = (args: readonly string[]) => Promise<string>;

export interface RefusalRule {
  host: string;
  port: number;
  refusal: ConnectionRefusal;
}

export interface PacketFilter {
  /** The comment on this run's rules. */
  readonly tag: string;
  /** Why rules cannot be used here (iptables missing, not root, no kernel support); undefined when they can. */
  unavailable(): Promise<string | undefined>;
  /** Inserts the rule: from now on new connections to host:port are turned down. */
  refuse(rule: RefusalRule): Promise<void>;
  /** Deletes the rule; a rule already gone (healed meanwhile) is no error. */
  remove(rule: RefusalRule): Promise<void>;
  /** Deletes every rule carrying this run's tag; returns how many. */
  removeTagged(): Promise<number>;
  /** Deletes the rules of suite processes that are gone; returns the rules deleted, as iptables lists them. */
  removeLeftovers(): Promise<string[]>;
}

const TAG_PREFIX = 'els-e2e-';
const LEFTOVER_TAG = /^els-e2e-.+-p(\d+)$/;
const CHAIN = 'OUTPUT';
/** What iptables says when asked to delete a rule that is not there. */
const NO_SUCH_RULE = /does a matching rule exist|No chain\/target\/match by that name|Bad rule/i;

/** The comment of a run's rules: iptables comments are single words of at most 256 characters here. */
export function packetFilterTag(label: string, pid: number = process.pid): string {
  return `${TAG_PREFIX}${label.replace(/[^A-Za-z0-9_.-]/g, '_')}-p${pid}`.slice(0, 200);
}

/** The rule's match and target, after `-I` / `-D`. */
export function refusalRuleArgs(tag: string, rule: RefusalRule): string[] {
  return [
    CHAIN,
    '-p',
    'tcp',
    '-d',
    rule.host,
    '--dport',
    String(rule.port),
    '-m',
    'comment',
    '--comment',
    tag,
    '-j',
    'REJECT',
    '--reject-with',
    rule.refusal,
  ];
}

/** Splits one line of `iptables -S` into its words (a quoted comment is one word, without its quotes). */
export function ruleWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)) {
    words.push(match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? ''));
  }
  return words;
}

/** The comment of a rule listed by `iptables -S`, if it has one. */
function commentOf(words: readonly string[]): string | undefined {
  const at = words.indexOf('--comment');
  return at < 0 ? undefined : words[at + 1];
}

/** True while a process with this pid exists (EPERM: it exists, as another user's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The iptables binary: /usr/sbin is not on every PATH. */
export function iptablesBinary(): string {
  return ['/usr/sbin/iptables', '/sbin/iptables'].find((file) => fs.existsSync(file)) ?? 'iptables';
}

/** Runs the machine's iptables, waiting up to 5 s for the xtables lock another process may hold. */
export const runIptables: IptablesRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile(iptablesBinary(), ['-w', '5', ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (!error) {
        resolve(stdout);
        return;
      }
      const reason = String(stderr).trim() || error.message;
      reject(Object.assign(new Error(`iptables ${args.join(' ')}: ${reason}`), { code: error.code }));
    });
  });

export function createPacketFilter(options: {
  tag: string;
  run?: IptablesRunner;
  /** Whether a suite process is still running (tests pass their own). */
  isAlive?: (pid: number) => boolean;
}): PacketFilter {
  const { tag } = options;
  const run = options.run ?? runIptables;
  const isAlive = options.isAlive ?? processAlive;
  let probe: Promise<string | undefined> | undefined;

  const listed = async (): Promise<string[][]> =>
    (await run(['-S', CHAIN]))
      .split('\n')
      .map((line) => ruleWords(line.trim()))
      .filter((words) => words[0] === '-A' && words[1] === CHAIN);
  /** Deletes a listed rule by its own specification (`-A OUTPUT …` becomes `-D OUTPUT …`). */
  const deleteListed = (words: readonly string[]) => run(['-D', ...words.slice(1)]);

  const filter: PacketFilter = {
    tag,
    unavailable() {
      probe ??= (async () => {
        try {
          await run(['-S', CHAIN]);
          // Every match and target a fault uses, on the discard port, inserted and deleted at once: a kernel
          // without the REJECT target or the comment match fails here, not in the middle of a fault.
          const rule: RefusalRule = { host: '127.0.0.1', port: 9, refusal: 'tcp-reset' };
          await run(['-I', ...refusalRuleArgs(tag, rule)]);
          await run(['-D', ...refusalRuleArgs(tag, rule)]);
          return undefined;
        } catch (error) {
          const { code, message } = error as NodeJS.ErrnoException;
          if (code === 'ENOENT') return 'iptables is not installed (npm run stack -- up installs it)';
          return `iptables cannot be used here (${message.split('\n')[0]})`;
        }
      })();
      return probe;
    },
    async refuse(rule) {
      await run(['-I', ...refusalRuleArgs(tag, rule)]);
    },
    async remove(rule) {
      await run(['-D', ...refusalRuleArgs(tag, rule)]).catch((error: Error) => {
        if (!NO_SUCH_RULE.test(error.message)) throw error;
      });
    },
    async removeTagged() {
      const own = (await listed()).filter((words) => commentOf(words) === tag);
      for (const words of own) await deleteListed(words);
      return own.length;
    },
    async removeLeftovers() {
      const stale = (await listed()).filter((words) => {
        const pid = Number(LEFTOVER_TAG.exec(commentOf(words) ?? '')?.[1]);
        return Number.isInteger(pid) && pid !== process.pid && !isAlive(pid);
      });
      for (const words of stale) await deleteListed(words);
      return stale.map((words) => words.join(' '));
    },
  };
  return filter;
}
