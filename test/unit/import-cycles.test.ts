import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * No import cycles (issue 8, item 11; specs/01-architecture.md). ESLint's import-x/no-cycle
 * refuses file-level cycles as you type; this test adds what no lint rule expresses: the core's
 * module folders (core/jobs, core/audit, core/auth, ...) form no cycle either, so each can be read
 * and tested with only the folders below it. Type-only imports count: they tie modules together too.
 */
const ROOTS = ['core', 'lambdas', 'local', 'lib', 'cli', 'worker-image', 'bin', 'bench'];

function sourceFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [normalize(path)] : [];
  });
}

/** Relative imports and re-exports of every source file, type-only ones included. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of ROOTS.flatMap(sourceFiles)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    graph.set(
      file,
      importedFiles.filter((i) => i.fileName.startsWith('.')).map((i) => normalize(join(dirname(file), i.fileName))),
    );
  }
  return graph;
}

/** The strongly connected components with more than one member (or a self-loop): the cycles. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** core/<folder>/x.ts → core/<folder>; core/x.ts → core (the shared root modules). */
function coreFolder(file: string): string | undefined {
  const parts = relative('.', file).split(/[\\/]/);
  if (parts[0] !== 'core') return undefined;
  return parts.length > 2 ? `core/${parts[1]}` : 'core';
}

describe('import graph', () => {
  const graph = importGraph();

  it('reads the whole code base', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get(normalize('core/jobs/job-service.ts'))).toContain(normalize('core/jobs/job.ts'));
  });

  it('has no cycle between files', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no cycle between the core\'s module folders', () => {
    const folders = new Map<string, Set<string>>();
    const edges = new Map<string, string[]>();
    for (const [file, imports] of graph) {
      const from = coreFolder(file);
      if (!from) continue;
      for (const target of imports) {
        const to = coreFolder(target);
        if (!to || to === from || !graph.has(target)) continue;
        if (!folders.has(from)) folders.set(from, new Set());
        folders.get(from)!.add(to);
        edges.set(`${from} → ${to}`, [...(edges.get(`${from} → ${to}`) ?? []), `${file} → ${target}`]);
      }
    }
    const folderGraph = new Map([...folders].map(([k, v]) => [k, [...v]]));
    for (const f of new Set([...folders.values()].flatMap((s) => [...s]))) if (!folderGraph.has(f)) folderGraph.set(f, []);
    const found = cycles(folderGraph);
    // On failure, name the file imports that close each cycle.
    const explain = found.map((c) => [...edges].filter(([e]) => c.some((a) => c.some((b) => e === `${a} → ${b}`))).map(([, files]) => files).flat());
    expect(explain).toEqual([]);
  });

  it('the checker itself sees a cycle when there is one', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
  });
});
