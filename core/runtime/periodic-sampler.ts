export const DEFAULT_SAMPLE_INTERVAL_MS = 500;

/**
 * Takes a sample now and every `intervalMs` until stopped, one at a time (a slow source never
 * piles samples up; a failed sample is skipped). Subclasses say what a sample reads.
 */
export abstract class PeriodicSampler {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(private readonly intervalMs = DEFAULT_SAMPLE_INTERVAL_MS) {}

  start(): this {
    this.sampleSoon();
    this.timer = setInterval(() => this.sampleSoon(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  protected abstract sample(): Promise<void>;

  /** Stops the timer and waits for the sample in flight, after one last sample when asked. */
  protected async stopSampling(lastSample: boolean): Promise<void> {
    clearInterval(this.timer);
    if (lastSample) this.sampleSoon();
    await this.inFlight;
  }

  private sampleSoon(): void {
    this.inFlight = this.inFlight.then(() => this.sample()).catch(() => undefined);
  }
}
