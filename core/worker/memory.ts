/**
 * The worker's V8 heap limits. Left alone, V8 lets a worker streaming output at full speed grow to
 * ~130 MB resident although it holds ~30 MB live (the old generation is collected lazily, and the
 * young generation is 3 × 16 MB). Smaller limits make it collect earlier: peak RSS while one job
 * streams 100 MiB of output fell from ~128 MB to ~88 MB (npm run bench, workerRss) at a few
 * percent of throughput. The old-space cap grows with the jobs a worker runs at once, because each
 * streaming job may hold its batcher's high-water mark (2 MiB) plus one in-flight batch and its
 * encodings (~8 MB).
 */
export function workerNodeOptions(concurrency: number): string {
  const oldSpaceMiB = 80 + 8 * Math.max(1, concurrency);
  return `--max-semi-space-size=2 --max-old-space-size=${oldSpaceMiB}`;
}
