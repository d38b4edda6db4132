import { arrayProgress, type ArrayStatus } from '../job-fields.ts';

/** An array parent's children per state: a bar (decorative) and the counts as text (what is read). */
export function ArrayProgress({ status }: { status: ArrayStatus }) {
  const { segments, finished } = arrayProgress(status);
  return (
    <div>
      <p>
        <strong>
          {finished} of {status.total} finished
        </strong>
      </p>
      <div className="progress" aria-hidden="true">
        {segments.map((s) => (
          <span key={s.state} className={`seg-${s.state.toLowerCase()}`} style={{ width: `${s.percent}%` }} />
        ))}
      </div>
      <ul className="legend" aria-label="Children per state">
        {segments.map((s) => (
          <li key={s.state}>
            <span className={`state state-${s.state.toLowerCase()}`}>{s.state}</span> {s.count}
          </li>
        ))}
      </ul>
    </div>
  );
}
