import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { dailySeries, type UsageRow } from '../usage-series.ts';

/**
 * GPU-hours per day as bars, cost as a line on its own axis. uPlot (about 20 KB gzipped) is
 * loaded with this component only (React.lazy on the usage page), never with the first page.
 */
export default function UsageChart({ rows, from, to }: { rows: readonly UsageRow[]; from: string; to: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const { days, gpuHours, costUsd } = dailySeries(rows, { from, to });
    const chart = new uPlot(
      {
        width: Math.max(Math.min(element.clientWidth || 800, 1100), 280),
        height: 260,
        scales: { x: { time: true }, usd: {} },
        series: [
          {},
          { label: 'GPU-hours', stroke: '#2b59c3', fill: 'rgba(43,89,195,0.25)', paths: uPlot.paths.bars!({ size: [0.7] }) },
          { label: 'Cost (USD)', stroke: '#bf3989', width: 2, scale: 'usd' },
        ],
        axes: [{}, { label: 'GPU-hours' }, { label: 'USD', scale: 'usd', side: 1, grid: { show: false } }],
      },
      [days, gpuHours, costUsd],
      element,
    );
    return () => chart.destroy();
  }, [rows, from, to]);
  return <div ref={host} role="img" aria-label="GPU-hours and cost per day" className="chart" />;
}
