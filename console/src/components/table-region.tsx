import type { ReactNode } from 'react';

/**
 * A wide table's horizontal scroller (phone widths): a named, focusable region, so keyboard users
 * can scroll it too.
 */
export function TableRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
