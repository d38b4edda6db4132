import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { UsageRow } from '../pages/usage-page.tsx';

/** GPU-hours per day as bars (uPlot: about 20 KB gzipped, loaded only with this page). */
export function UsageChart({ rows }: { rows: readonly UsageRow[] }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const days = rows.map((r) => Date.parse(r.key) / 1000);
    const hours = rows.map((r) => (r.gpuSeconds ?? 0) / 3600);
    const chart = new uPlot(
      {
        width: Math.min(element.clientWidth || 800, 1100),
        height: 260,
        series: [{}, { label: 'GPU-hours', stroke: '#2b59c3', fill: 'rgba(43,89,195,0.25)', paths: uPlot.paths.bars!({ size: [0.7] }) }],
        axes: [{}, { label: 'GPU-hours' }],
      },
      [days, hours],
      element,
    );
    return () => chart.destroy();
  }, [rows]);
  return <div ref={host} role="img" aria-label="GPU-hours per day" className="chart" />;
}
