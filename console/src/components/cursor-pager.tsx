import { useState } from 'react';

/** Pages by the API's opaque cursors: the cursors of the pages before the current one are kept to go back. */
export function useCursorPages() {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    hasPrevious: cursors.length > 1,
    previous: () => setCursors((c) => c.slice(0, -1)),
    next: (cursor: string) => setCursors((c) => [...c, cursor]),
    reset: () => setCursors([undefined]),
  };
}

export function CursorPager({
  pages,
  nextCursor,
  label,
  previousText,
  nextText,
}: {
  pages: ReturnType<typeof useCursorPages>;
  nextCursor: string | null | undefined;
  label: string;
  previousText: string;
  nextText: string;
}) {
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" disabled={!pages.hasPrevious} onClick={pages.previous}>
        {previousText}
      </button>
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        {nextText}
      </button>
    </nav>
  );
}
