import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useEffect, useRef, type CSSProperties } from 'react';
import { parseAnsi, type AnsiStyle } from '../ansi.ts';
import type { LogLine } from '../log-lines.ts';

const ROW_PX = 18;

function css(style: AnsiStyle): CSSProperties | undefined {
  if (Object.keys(style).length === 0) return undefined;
  return {
    color: style.fg,
    backgroundColor: style.bg,
    fontWeight: style.bold ? 'bold' : undefined,
    opacity: style.dim ? 0.7 : undefined,
    fontStyle: style.italic ? 'italic' : undefined,
    textDecoration: style.underline ? 'underline' : undefined,
  };
}

// Keyed on the text, not the line object: a line still being written grows in place.
const Line = memo(function Line({ text }: { text: string }) {
  return (
    <>
      {parseAnsi(text).map((segment, i) => (
        <span key={i} style={css(segment.style)}>
          {segment.text}
        </span>
      ))}
    </>
  );
});

/**
 * The output as a virtualised list: only the rows in view (plus a margin) are in the DOM, so
 * 100,000 lines scroll as smoothly as 100. With `follow` the view stays at the newest line.
 */
export function LogView({ lines, version, follow }: { lines: readonly LogLine[]; version: number; follow: boolean }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 30,
  });

  useEffect(() => {
    if (follow && lines.length > 0) virtualizer.scrollToIndex(lines.length - 1, { align: 'end' });
  }, [follow, version, lines.length, virtualizer]);

  return (
    <div ref={scroller} className="log" role="log" aria-label="Job output" tabIndex={0}>
      {lines.length === 0 && <p className="muted">No output yet.</p>}
      <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
        {virtualizer.getVirtualItems().map((row) => {
          const line = lines[row.index]!;
          return (
            <div
              key={row.key}
              className={`log-line ${line.stream}`}
              data-stream={line.stream}
              style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW_PX, transform: `translateY(${row.start}px)` }}
            >
              <span className="log-stream">
                {line.stream === 'stderr' ? 'err' : 'out'}
              </span>
              <Line text={line.text} />
            </div>
          );
        })}
      </div>
    </div>
  );
}
