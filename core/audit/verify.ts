import { genesisHash, hashEntry, type AuditEntry, type ChainId } from './entry.ts';

/**
 * Pure verification of audit chains read from the table: no I/O, so it is measured and tested on
 * its own (see specs/04-audit-chain.md, "What verify detects").
 *
 * Per chain: sequence numbers are whole and contiguous from 1, every stored hash equals the hash
 * recomputed from the entry, every prevHash equals the previous entry's hash (the chain's genesis
 * for seq 1), and the last entry equals what the chain's head item records. Across chains: every
 * checkpoint in the root chain names, for each shard, an entry that still exists with that hash,
 * which catches the newest entries of a shard deleted together with a rewound head.
 */

export type ProblemKind =
  /** The stored hash is not the hash of the stored content. */
  | 'edited'
  /** The content hashes correctly at another position than the one it is stored at. */
  | 'reordered'
  /** Sequence numbers jump: entries are missing. */
  | 'deleted'
  /** An item that cannot be an entry (seq not a whole number), or an entry past the head. */
  | 'inserted'
  /** The entry is intact but does not link to the one before it. */
  | 'broken-link'
  /** The item lacks fields or has fields of the wrong type. */
  | 'malformed'
  /** The head item disagrees with the last entry, or is missing. */
  | 'head-mismatch'
  /** A checkpoint names an entry that is gone or has another hash now. */
  | 'checkpoint-mismatch';

export interface AuditProblem {
  readonly shard: ChainId;
  readonly seq: number;
  readonly kind: ProblemKind;
  readonly problem: string;
}

/** Every item of one chain's partition, in seq order: the head item (seq 0) and the entries. */
export interface ChainItems {
  readonly chain: ChainId;
  readonly items: readonly Readonly<Record<string, unknown>>[];
}

export interface ChainReport {
  readonly chain: ChainId;
  readonly entries: number;
  /** The last entry as stored (seq 0 and the genesis hash when empty). */
  readonly tail: { readonly seq: number; readonly hash: string };
  readonly problems: AuditProblem[];
  /** Stored hash by seq, for the checkpoint cross-check. */
  readonly hashes: ReadonlyMap<number, string>;
  /** Entries that parsed (the root chain's are the checkpoints). */
  readonly parsed: readonly AuditEntry[];
}

export interface VerifyResult {
  readonly ok: boolean;
  /** Entries in the shard chains. */
  readonly entries: number;
  /** Entries in the root chain. */
  readonly checkpoints: number;
  /** Shard chains examined. */
  readonly shards: number;
  readonly firstBroken?: AuditProblem;
  /** Every problem found, root first, then shard by shard in seq order (capped at MAX_PROBLEMS). */
  readonly problems: readonly AuditProblem[];
}

export const MAX_PROBLEMS = 100;

/** A shard's recorded head inside a checkpoint entry's details. */
export interface CheckpointShard {
  readonly shard: number;
  readonly seq: number;
  readonly hash: string;
}

/**
 * Verifies one chain's items. With `headIncluded` false (entries read through the API, which does
 * not return head items) the tail is not compared with a head.
 */
export function verifyChain(chain: ChainId, items: readonly Readonly<Record<string, unknown>>[], headIncluded = true): ChainReport {
  const problems: AuditProblem[] = [];
  const report = (seq: number, kind: ProblemKind, problem: string) => problems.push({ shard: chain, seq, kind, problem });
  const genesis = genesisHash(chain);
  const hashes = new Map<number, string>();
  const parsed: AuditEntry[] = [];
  let head: Readonly<Record<string, unknown>> | undefined;

  // Which hash each stored entry links to, to tell a moved entry from an edited one.
  const prevOf = new Map<string, string>();
  for (const item of items) {
    if (typeof item.hash === 'string' && typeof item.prevHash === 'string') prevOf.set(item.hash, item.prevHash);
  }
  const writtenSeq = originalSeqs(genesis, prevOf);

  let prev = genesis;
  let expected = 1;
  let entries = 0;
  for (const item of items) {
    const seq = item.seq;
    if (seq === 0) {
      head = item;
      continue;
    }
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0) {
      report(typeof seq === 'number' ? seq : Number.NaN, 'inserted', `an item at seq ${String(seq)} cannot be an entry: sequence numbers are whole numbers from 1`);
      continue;
    }
    entries++;
    const entry = toEntry(item);
    if (!entry) {
      report(seq, 'malformed', `entry ${seq} lacks fields or has fields of the wrong type`);
      if (typeof item.hash === 'string') prev = item.hash;
      expected = seq + 1;
      continue;
    }
    let linkChecked = true;
    if (seq > expected) {
      report(expected, 'deleted', seq - expected === 1 ? `entry ${expected} is missing` : `entries ${expected}..${seq - 1} are missing`);
      // Its link is to the missing entry; reporting it broken too would say the same thing twice.
      linkChecked = false;
    }
    const computed = hashEntry(entry);
    if (computed !== entry.hash) {
      const writtenAt = movedFrom(entry, writtenSeq);
      if (writtenAt !== undefined) report(seq, 'reordered', `entry ${seq} holds the entry written as seq ${writtenAt}`);
      else report(seq, 'edited', `entry ${seq} does not match its hash: its content was changed`);
    } else if (linkChecked && entry.prevHash !== prev) {
      report(seq, 'broken-link', `entry ${seq} does not link to entry ${seq - 1}: an entry was inserted, replaced or reordered here`);
    }
    hashes.set(seq, entry.hash);
    parsed.push(entry);
    prev = entry.hash;
    expected = seq + 1;
  }

  const tail = { seq: expected - 1, hash: prev };
  if (!headIncluded) {
    // Nothing to compare the tail with.
  } else if (!head) {
    if (tail.seq > 0) report(tail.seq, 'head-mismatch', `the chain's head item is missing (last entry is ${tail.seq})`);
  } else {
    const headSeq = head.headSeq;
    const headHash = head.headHash;
    if (typeof headSeq !== 'number' || typeof headHash !== 'string') {
      report(tail.seq, 'head-mismatch', "the chain's head item is malformed");
    } else if (headSeq > tail.seq) {
      report(
        tail.seq + 1,
        'deleted',
        headSeq === tail.seq + 1 ? `entry ${headSeq}, the newest, is missing` : `entries ${tail.seq + 1}..${headSeq}, the newest, are missing`,
      );
    } else if (headSeq < tail.seq) {
      report(headSeq + 1, 'inserted', `entry ${headSeq + 1} and after were never recorded by the chain's head (head is at ${headSeq})`);
    } else if (headHash !== tail.hash) {
      report(tail.seq, 'head-mismatch', `entry ${tail.seq} differs from the one the chain's head recorded`);
    }
  }
  problems.sort((a, b) => a.seq - b.seq);
  return { chain, entries, tail, problems, hashes, parsed };
}

/**
 * Verifies the root chain and every shard, then checks each checkpoint against the shards.
 * `shards` are the shard chains to examine (all that may exist: see DynamoDbAuditLog.verify).
 */
export function verifyAuditChains(root: ChainItems, shards: readonly ChainItems[], headsIncluded = true): VerifyResult {
  const rootReport = verifyChain('root', root.items, headsIncluded);
  const shardReports = shards.map((s) => verifyChain(s.chain, s.items, headsIncluded));
  const byShard = new Map(shardReports.map((r) => [r.chain, r]));

  // The earliest violation per shard across all checkpoints (the oldest is the most telling).
  const checkpointProblems = new Map<ChainId, AuditProblem>();
  for (const checkpoint of rootReport.parsed) {
    for (const recorded of checkpointShards(checkpoint)) {
      if (recorded.seq === 0) continue;
      const report = byShard.get(recorded.shard);
      const stored = report?.hashes.get(recorded.seq);
      let problem: AuditProblem | undefined;
      if (stored === undefined) {
        // Past the tail: the newest entries were cut off (and the head rewound, or it would have said so).
        const from = report && recorded.seq > report.tail.seq ? report.tail.seq + 1 : recorded.seq;
        problem = {
          shard: recorded.shard,
          seq: from,
          kind: 'deleted',
          problem:
            from === recorded.seq
              ? `entry ${recorded.seq}, recorded by checkpoint ${checkpoint.seq}, is missing`
              : `entries ${from}..${recorded.seq}, recorded by checkpoint ${checkpoint.seq}, are missing`,
        };
      } else if (stored !== recorded.hash) {
        problem = {
          shard: recorded.shard,
          seq: recorded.seq,
          kind: 'checkpoint-mismatch',
          problem: `entry ${recorded.seq} differs from the one checkpoint ${checkpoint.seq} recorded`,
        };
      }
      if (!problem) continue;
      const known = checkpointProblems.get(recorded.shard);
      if (!known || problem.seq < known.seq) checkpointProblems.set(recorded.shard, problem);
    }
  }

  const problems: AuditProblem[] = [...rootReport.problems];
  for (const report of shardReports) {
    const own = report.problems;
    const fromCheckpoint = checkpointProblems.get(report.chain);
    // A checkpoint problem at a seq the chain itself already reported adds nothing.
    const extra = fromCheckpoint && !own.some((p) => p.seq <= fromCheckpoint.seq) ? [fromCheckpoint] : [];
    problems.push(...[...own, ...extra].sort((a, b) => a.seq - b.seq));
  }
  const capped = problems.slice(0, MAX_PROBLEMS);
  return {
    ok: problems.length === 0,
    entries: shardReports.reduce((n, r) => n + r.entries, 0),
    checkpoints: rootReport.entries,
    shards: shardReports.length,
    ...(capped[0] ? { firstBroken: capped[0] } : {}),
    problems: capped,
  };
}

/**
 * Verifies entries as `GET /v1/audit` returns them (each with its `shard`), every shard's and the
 * root's: what `runplane audit verify --local` runs, so the hashes are recomputed on the auditor's
 * machine rather than by the server. Head items are not served, so a shard's newest entries
 * deleted after its last checkpoint go unnoticed here (the server's verify compares heads).
 */
export function verifyListedEntries(entries: readonly { readonly shard: ChainId; readonly seq: number }[]): VerifyResult {
  const byChain = new Map<ChainId, Readonly<Record<string, unknown>>[]>();
  let shardCount = 0;
  for (const entry of entries) {
    const chain = entry.shard;
    if (chain !== 'root') shardCount = Math.max(shardCount, chain + 1);
    const item = entry as unknown as Readonly<Record<string, unknown>>;
    const list = byChain.get(chain);
    if (list) list.push(item);
    else byChain.set(chain, [item]);
  }
  for (const entry of byChain.get('root') ?? []) {
    const parsed = toEntry(entry);
    if (parsed) for (const s of checkpointShards(parsed)) shardCount = Math.max(shardCount, s.shard + 1);
  }
  const bySeq = (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>) => (a.seq as number) - (b.seq as number);
  const shards = Array.from({ length: shardCount }, (_, chain) => ({ chain, items: (byChain.get(chain) ?? []).sort(bySeq) }));
  return verifyAuditChains({ chain: 'root', items: (byChain.get('root') ?? []).sort(bySeq) }, shards, false);
}

/** The shards a checkpoint entry recorded; nothing when its details are not a checkpoint's. */
export function checkpointShards(entry: Pick<AuditEntry, 'details'>): CheckpointShard[] {
  const shards = entry.details.shards;
  if (!Array.isArray(shards)) return [];
  return shards.filter(
    (s): s is CheckpointShard =>
      typeof s === 'object' &&
      s !== null &&
      Number.isInteger((s as CheckpointShard).shard) &&
      Number.isInteger((s as CheckpointShard).seq) &&
      typeof (s as CheckpointShard).hash === 'string',
  );
}

/** The entry's fields when they have the entry's types. */
export function toEntry(item: Readonly<Record<string, unknown>>): AuditEntry | undefined {
  const { seq, time, actor, action, target, details, prevHash, hash } = item;
  if (
    typeof seq !== 'number' ||
    typeof time !== 'string' ||
    typeof actor !== 'string' ||
    typeof action !== 'string' ||
    typeof target !== 'string' ||
    typeof details !== 'object' ||
    details === null ||
    Array.isArray(details) ||
    typeof prevHash !== 'string' ||
    typeof hash !== 'string'
  ) {
    return undefined;
  }
  return { seq, time, actor, action, target, details: details as Record<string, unknown>, prevHash, hash };
}

/** The seq an entry was written at, when its content hashes correctly there (it was moved). */
function movedFrom(entry: AuditEntry, writtenSeq: (hash: string) => number | undefined): number | undefined {
  const writtenAt = writtenSeq(entry.hash);
  if (writtenAt === undefined || writtenAt === entry.seq) return undefined;
  return hashEntry({ ...entry, seq: writtenAt }) === entry.hash ? writtenAt : undefined;
}

/**
 * The position each hash was written at: its distance from the genesis following prevHash links
 * (undefined when a link leads nowhere). Iterative and memoized: chains are long, and it is only
 * asked about entries that already failed their hash check.
 */
function originalSeqs(genesis: string, prevOf: ReadonlyMap<string, string>): (hash: string) => number | undefined {
  const depth = new Map<string, number | undefined>([[genesis, 0]]);
  return (hash) => {
    const path: string[] = [];
    let at: string | undefined = hash;
    while (at !== undefined && !depth.has(at) && path.length <= prevOf.size) {
      path.push(at);
      at = prevOf.get(at);
    }
    let known = at === undefined || !depth.has(at) ? undefined : depth.get(at);
    for (let i = path.length - 1; i >= 0; i--) {
      known = known === undefined ? undefined : known + 1;
      depth.set(path[i]!, known);
    }
    return depth.get(hash);
  };
}
