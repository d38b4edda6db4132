import type { OutputEvent, OutputStream } from '../../core/events/event.ts';

export interface LogLine {
  readonly stream: OutputStream;
  text: string;
}

/**
 * Output chunks arrive split anywhere; this keeps them as lines per stream. A line still being
 * written (no newline yet) is one entry that later chunks of the same stream extend, so a partial
 * line shows at once and a progress line never appears twice.
 */
export class LogLineBuffer {
  readonly lines: LogLine[] = [];
  private readonly open = new Map<OutputStream, LogLine>();

  append(event: Pick<OutputEvent, 'stream' | 'data'>): void {
    const parts = event.data.split('\n');
    parts.forEach((part, index) => {
      const last = index === parts.length - 1;
      // A chunk that ends with a newline has already closed its line.
      if (last && part === '') return;
      let line = this.open.get(event.stream);
      if (line) line.text += part;
      else {
        line = { stream: event.stream, text: part };
        this.lines.push(line);
      }
      if (last) this.open.set(event.stream, line);
      else this.open.delete(event.stream);
    });
  }
}
