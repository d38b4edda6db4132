/**
 * Who runs a pool's scheduling passes right now, across processes (the scheduler Lambda's
 * concurrent invocations): at most one holder per pool, and a kick that arrives while a pass runs
 * is never lost but makes the holder run one more pass, the way InProcessScheduler coalesces
 * kicks within one process. A holder that dies loses the lease when it expires.
 */
export interface PassLease {
  /**
   * True: `holder` now holds the pool's lease and runs passes. False: someone else holds it, and
   * has been told to run one more pass once its current one ends.
   */
  acquire(pool: string, holder: string, now: Date, ttlMs: number): Promise<boolean>;
  /**
   * After a pass. `released`: nothing asked for another pass; the lease is free. `again`: a kick
   * came during the pass; the lease is renewed for `holder`, who runs one more. `lost`: the lease
   * expired and another holder took it; it runs the passes now.
   */
  release(pool: string, holder: string, now: Date, ttlMs: number): Promise<'released' | 'again' | 'lost'>;
  /** Frees the lease whatever was asked (a failed pass, time running out); a no-op when not held by `holder`. */
  abandon(pool: string, holder: string): Promise<void>;
}
