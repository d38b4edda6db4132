import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../../cli/api-client.ts';
import { describeError, sendJson, useClient } from '../api.ts';
import { QueryProblem } from '../components/not-available.tsx';
import { TableRegion } from '../components/table-region.tsx';
import { fieldErrorsOf } from '../field-errors.ts';
import type { GroupView } from '../../../core/groups/group.ts';
import { formatGpuHours } from '../format.ts';
import { formOfGroup, groupSettingsBody, type GroupSettingsField, type GroupSettingsForm } from '../group-settings.ts';

/** A group as `GET /v1/groups` reports it (issue 11): the API's own type. */
export type { GroupView };

function unusedGroup(name: string): GroupView {
  return { name, maxGpus: null, maxRunningJobs: null, weight: 1, runningGpus: 0, runningJobs: 0, recentGpuSeconds: 0 };
}

const limit = (n: number | null) => (n === null ? 'no quota' : String(n));

export function GroupsPage() {
  const client = useClient();
  const [editing, setEditing] = useState<string | null>(null);
  const groups = useQuery({
    queryKey: ['groups'],
    queryFn: () => client.get<{ groups: GroupView[] }>('/v1/groups'),
    refetchInterval: 10_000,
  });
  const [otherName, setOtherName] = useState('');
  // A group nobody has used yet is not listed; its settings can still be set ahead of its jobs.
  const chosen = editing === null ? undefined : (groups.data?.groups.find((g) => g.name === editing) ?? unusedGroup(editing));
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Groups</h1>
      <p className="muted">
        Quotas cap what a group's running jobs hold together; the weight is its fair share of the GPUs (weight 2 is entitled to twice
        the share of weight 1), judged against its recent use.
      </p>
      {groups.error && <QueryProblem error={groups.error} feature="Groups and quotas" />}
      {groups.data && groups.data.groups.length === 0 && <p>No group has jobs or settings yet.</p>}
      {groups.data && groups.data.groups.length > 0 && (
        <TableRegion label="Groups table">
          <table>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">GPUs in use / quota</th>
                <th scope="col">Running jobs / quota</th>
                <th scope="col">Fair-share weight</th>
                <th scope="col">Recent GPU use</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {groups.data.groups.map((g) => (
                <tr key={g.name}>
                  <th scope="row">{g.name}</th>
                  <td>
                    {g.runningGpus} / {limit(g.maxGpus)}
                  </td>
                  <td>
                    {g.runningJobs} / {limit(g.maxRunningJobs)}
                  </td>
                  <td>{g.weight}</td>
                  <td title="GPU-hours of finished attempts, decayed (recent use counts most)">{formatGpuHours(g.recentGpuSeconds)}</td>
                  <td>
                    <button type="button" aria-label={`Edit group ${g.name}`} onClick={() => setEditing(g.name)}>
                      Edit
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
      {groups.data && (
        <form
          className="inline-form"
          aria-label="Edit another group"
          onSubmit={(e) => {
            e.preventDefault();
            if (otherName.trim()) setEditing(otherName.trim());
          }}
        >
          <label>
            Group name
            <input value={otherName} onChange={(e) => setOtherName(e.target.value)} />
          </label>
          <button type="submit">Edit group</button>
        </form>
      )}
      {chosen && <GroupEditor key={chosen.name} group={chosen} onDone={() => setEditing(null)} />}
    </section>
  );
}

const FIELDS: readonly { field: GroupSettingsField; label: string; hint: string }[] = [
  { field: 'maxGpus', label: 'GPU quota', hint: 'Empty: no quota.' },
  { field: 'maxRunningJobs', label: 'Running jobs quota', hint: 'Empty: no quota.' },
  { field: 'weight', label: 'Fair-share weight', hint: '1 is the default share.' },
];

/** `PUT /v1/groups/{group}` (admins); the form's and the API's errors each appear beside their field. */
function GroupEditor({ group, onDone }: { group: GroupView; onDone: () => void }) {
  const queryClient = useQueryClient();
  const id = useId();
  const [form, setForm] = useState<GroupSettingsForm>(() => formOfGroup(group));
  const [localErrors, setLocalErrors] = useState<Partial<Record<GroupSettingsField, string>>>({});
  const save = useMutation({
    mutationFn: (body: object) => sendJson<{ group: GroupView }>('PUT', `/v1/groups/${encodeURIComponent(group.name)}`, body),
    onSuccess: (answer) => {
      queryClient.setQueryData<{ groups: GroupView[] }>(['groups'], (old) =>
        old ? { groups: old.groups.map((g) => (g.name === answer.group.name ? answer.group : g)) } : old,
      );
      void queryClient.invalidateQueries({ queryKey: ['groups'] });
      onDone();
    },
  });
  const apiErrors = save.error instanceof ApiError ? fieldErrorsOf(save.error.details) : {};
  const errorOf = (field: GroupSettingsField) => localErrors[field] ?? apiErrors[field];
  const fieldless = save.error !== null && !FIELDS.some(({ field }) => apiErrors[field]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const { body, errors } = groupSettingsBody(form);
    setLocalErrors(errors);
    if (body) save.mutate(body);
  };
  return (
    <form className="panel" aria-labelledby={`${id}-title`} onSubmit={submit} noValidate>
      <h2 id={`${id}-title`}>Edit group {group.name}</h2>
      <div className="group-edit">
        {FIELDS.map(({ field, label, hint }) => {
          const error = errorOf(field);
          return (
            <div className="field" key={field}>
              <label htmlFor={`${id}-${field}`}>{label}</label>
              <input
                id={`${id}-${field}`}
                inputMode="decimal"
                value={form[field]}
                aria-invalid={error !== undefined}
                aria-describedby={`${id}-${field}-hint${error ? ` ${id}-${field}-error` : ''}`}
                onChange={(e) => setForm((f) => ({ ...f, [field]: e.target.value }))}
              />
              <span id={`${id}-${field}-hint`} className="hint">
                {hint}
              </span>
              {error && (
                <span id={`${id}-${field}-error`} className="field-error">
                  {error}
                </span>
              )}
            </div>
          );
        })}
      </div>
      {fieldless && (
        <p role="alert" className="error">
          {describeError(save.error)}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={save.isPending}>
          Save
        </button>
        <button type="button" onClick={onDone}>
          Close
        </button>
      </div>
    </form>
  );
}
