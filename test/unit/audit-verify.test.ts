import { describe, expect, it } from 'vitest';
import { emptyHead, hashEntry, nextEntry, type AuditEntry, type ChainHead, type ChainId } from '../../core/audit/entry.ts';
import { verifyAuditChains, verifyChain, verifyListedEntries, type ChainItems } from '../../core/audit/verify.ts';

type Item = Record<string, unknown>;
const T0 = Date.UTC(2026, 0, 1);

/** A chain of `n` entries as its partition holds them: head item (seq 0) first, then the entries. */
function chain(id: ChainId, n: number, details: (i: number) => Record<string, unknown> = (i) => ({ i })): Item[] {
  let head: ChainHead = emptyHead(id);
  const entries: AuditEntry[] = [];
  for (let i = 1; i <= n; i++) {
    const entry = nextEntry(head, { actor: 'alice', action: 'job.submit', target: `job:${id}-${i}`, details: details(i) }, new Date(T0 + i * 1000));
    entries.push(entry);
    head = { chain: id, seq: entry.seq, hash: entry.hash };
  }
  return [headItem(head), ...entries.map((e) => ({ ...e }))];
}

const headItem = (head: ChainHead): Item => ({ seq: 0, headSeq: head.seq, headHash: head.hash });
const entryAt = (items: Item[], seq: number) => items.find((i) => i.seq === seq)!;
const tailOf = (items: Item[], id: ChainId): ChainHead => {
  const last = items.filter((i) => (i.seq as number) > 0).at(-1);
  return last ? { chain: id, seq: last.seq as number, hash: last.hash as string } : emptyHead(id);
};

/** A root chain of checkpoints, each recording the given shard heads. */
function rootWith(checkpoints: { shard: number; seq: number; hash: string }[][]): Item[] {
  let head = emptyHead('root');
  const entries: AuditEntry[] = [];
  for (const shards of checkpoints) {
    const entry = nextEntry(head, { actor: 'system:checkpoint', action: 'audit.checkpoint', target: 'audit:shards', details: { shards } }, new Date(T0));
    entries.push(entry);
    head = { chain: 'root', seq: entry.seq, hash: entry.hash };
  }
  return [headItem(head), ...entries.map((e) => ({ ...e }))];
}

const recorded = (items: Item[], shard: number) => {
  const t = tailOf(items, shard);
  return { shard, seq: t.seq, hash: t.hash };
};

function verify(shards: Item[][], root: Item[] = rootWith([])) {
  const chains: ChainItems[] = shards.map((items, chainId) => ({ chain: chainId, items }));
  return verifyAuditChains({ chain: 'root', items: root }, chains);
}

/** Re-hashes entry `seq` after an edit (an attacker who knows the scheme) and returns it. */
function rehash(item: Item): Item {
  item.hash = hashEntry(item as unknown as AuditEntry);
  return item;
}

describe('verifyAuditChains', () => {
  it('accepts intact shards and checkpoints and counts them', () => {
    const s0 = chain(0, 5);
    const s1 = chain(1, 3);
    const root = rootWith([[recorded(s0, 0), recorded(s1, 1)]]);
    expect(verify([s0, s1, chain(2, 0)], root)).toEqual({ ok: true, entries: 8, checkpoints: 1, shards: 3, problems: [] });
  });

  it('names an edited entry', () => {
    const s0 = chain(0, 6);
    entryAt(s0, 4).actor = 'mallory';
    const result = verify([s0]);
    expect(result.ok).toBe(false);
    expect(result.firstBroken).toMatchObject({ shard: 0, seq: 4, kind: 'edited' });
  });

  it('names the entry after one edited and re-hashed (its link breaks)', () => {
    const s0 = chain(0, 6);
    rehash(Object.assign(entryAt(s0, 3), { details: { i: 999 } }));
    expect(verify([s0]).firstBroken).toMatchObject({ shard: 0, seq: 4, kind: 'broken-link' });
  });

  it('names a deleted entry in the middle', () => {
    const s0 = chain(0, 6).filter((i) => i.seq !== 3);
    expect(verify([s0]).firstBroken).toMatchObject({ shard: 0, seq: 3, kind: 'deleted', problem: 'entry 3 is missing' });
  });

  it('names the newest entries deleted while the head still records them', () => {
    const s0 = chain(0, 6).filter((i) => (i.seq as number) < 5);
    expect(verify([s0]).firstBroken).toMatchObject({ shard: 0, seq: 5, kind: 'deleted' });
  });

  it('names the newest entries deleted with the head rewound, when a checkpoint saw them', () => {
    const s0 = chain(0, 6);
    const root = rootWith([[recorded(s0, 0)]]);
    const cut = s0.filter((i) => (i.seq as number) < 5);
    cut[0] = headItem(tailOf(cut, 0));
    expect(verify([cut], root).firstBroken).toMatchObject({ shard: 0, seq: 5, kind: 'deleted', problem: 'entries 5..6, recorded by checkpoint 1, are missing' });
  });

  it('cannot see entries cut after the last checkpoint when the head is rewound too (documented limit)', () => {
    const s0 = chain(0, 6);
    const root = rootWith([[{ shard: 0, ...pick(entryAt(s0, 4)) }]]);
    const cut = s0.filter((i) => (i.seq as number) < 5);
    cut[0] = headItem(tailOf(cut, 0));
    expect(verify([cut], root).ok).toBe(true);
  });

  it('names an inserted item that cannot be an entry', () => {
    const s0 = chain(0, 4);
    s0.splice(3, 0, { ...entryAt(s0, 2), seq: 2.5 });
    expect(verify([s0]).firstBroken).toMatchObject({ shard: 0, seq: 2.5, kind: 'inserted' });
  });

  it('names an entry inserted in the middle with the rest shifted down', () => {
    const original = chain(0, 5);
    const entries = original.slice(1) as unknown as AuditEntry[];
    const forged = nextEntry(
      { chain: 0, seq: 2, hash: entries[1]!.hash },
      { actor: 'mallory', action: 'job.cancel', target: 'job:x', details: {} },
      new Date(T0),
    );
    const shifted = entries.slice(2).map((e) => ({ ...e, seq: e.seq + 1 }));
    const items: Item[] = [headItem({ chain: 0, seq: 6, hash: shifted.at(-1)!.hash }), { ...entries[0]! }, { ...entries[1]! }, { ...forged }, ...shifted];
    const result = verify([items]);
    expect(result.firstBroken).toMatchObject({ shard: 0, seq: 4, kind: 'reordered', problem: 'entry 4 holds the entry written as seq 3' });
  });

  it('names an entry appended past the head', () => {
    const s0 = chain(0, 3);
    const tail = tailOf(s0, 0);
    s0.push({ ...nextEntry(tail, { actor: 'mallory', action: 'job.submit', target: 'job:y', details: {} }, new Date(T0)) });
    expect(verify([s0]).firstBroken).toMatchObject({ shard: 0, seq: 4, kind: 'inserted' });
  });

  it('names swapped entries as reordered', () => {
    const s0 = chain(0, 5);
    const a = entryAt(s0, 2);
    const b = entryAt(s0, 3);
    const swappedA = { ...b, seq: 2 };
    const swappedB = { ...a, seq: 3 };
    s0[2] = swappedA;
    s0[3] = swappedB;
    const result = verify([s0]);
    expect(result.problems.slice(0, 2)).toEqual([
      { shard: 0, seq: 2, kind: 'reordered', problem: 'entry 2 holds the entry written as seq 3' },
      { shard: 0, seq: 3, kind: 'reordered', problem: 'entry 3 holds the entry written as seq 2' },
    ]);
  });

  it('names a head that disagrees with the last entry', () => {
    const s0 = chain(0, 3);
    s0[0] = { ...s0[0], headHash: 'f'.repeat(64) };
    expect(verify([s0]).firstBroken).toMatchObject({ shard: 0, seq: 3, kind: 'head-mismatch' });
  });

  it('names a malformed entry', () => {
    const s0 = chain(0, 3);
    entryAt(s0, 2).details = 'not an object';
    expect(verify([s0]).firstBroken).toMatchObject({ shard: 0, seq: 2, kind: 'malformed' });
  });

  it('names a rewrite of a shard that a checkpoint contradicts', () => {
    const s0 = chain(0, 4);
    const root = rootWith([[recorded(s0, 0)]]);
    // The attacker rewrites entries 3..4 and re-links and re-hashes them, head included.
    const e3 = rehash(Object.assign(entryAt(s0, 3), { actor: 'mallory' }));
    rehash(Object.assign(entryAt(s0, 4), { prevHash: e3.hash }));
    s0[0] = headItem(tailOf(s0, 0));
    expect(verifyChain(0, s0).problems).toEqual([]);
    expect(verify([s0], root).firstBroken).toMatchObject({ shard: 0, seq: 4, kind: 'checkpoint-mismatch' });
  });

  it('reports the root chain first, then shards in order', () => {
    const s0 = chain(0, 3);
    const s1 = chain(1, 3);
    const root = rootWith([[recorded(s0, 0), recorded(s1, 1)], [recorded(s0, 0), recorded(s1, 1)]]);
    entryAt(root, 1).time = '2030-01-01T00:00:00.000Z';
    entryAt(s1, 1).actor = 'mallory';
    entryAt(s0, 3).actor = 'mallory';
    const result = verify([s0, s1], root);
    expect(result.problems.map((p) => [p.shard, p.seq])).toEqual([
      ['root', 1],
      [0, 3],
      [1, 1],
    ]);
    expect(result.firstBroken).toMatchObject({ shard: 'root', seq: 1, kind: 'edited' });
  });

  it('verifies listed entries without head items (runplane audit verify --local)', () => {
    const s0 = chain(0, 3);
    const s1 = chain(1, 2);
    const root = rootWith([[recorded(s0, 0), recorded(s1, 1)]]);
    const listed = [
      ...s1.slice(1).map((e) => ({ ...e, shard: 1 })),
      ...s0.slice(1).map((e) => ({ ...e, shard: 0 })),
      ...root.slice(1).map((e) => ({ ...e, shard: 'root' as const })),
    ] as unknown as { shard: ChainId; seq: number }[];
    expect(verifyListedEntries(listed)).toMatchObject({ ok: true, entries: 5, shards: 2, checkpoints: 1 });
    const tampered = listed.map((e) => (e.shard === 0 && e.seq === 2 ? { ...e, actor: 'mallory' } : e));
    expect(verifyListedEntries(tampered).firstBroken).toMatchObject({ shard: 0, seq: 2, kind: 'edited' });
  });
});

function pick(item: Item): { seq: number; hash: string } {
  return { seq: item.seq as number, hash: item.hash as string };
}
