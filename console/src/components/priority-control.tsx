import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../../cli/api-client.ts';
import { describeError, isRouteMissing, sendJson } from '../api.ts';
import { fieldErrorsOf } from '../field-errors.ts';

const MIN = -1000;
const MAX = 1000;

/**
 * Changes a QUEUED job's priority (`PATCH /v1/jobs/{id}` `{priority}`). The API decides who may:
 * a refusal (403, or 409 once the job started) is shown beside the field.
 */
export function PriorityControl({ jobId, priority }: { jobId: string; priority: number }) {
  const queryClient = useQueryClient();
  const id = useId();
  const [value, setValue] = useState(String(priority));
  const [localError, setLocalError] = useState<string | null>(null);
  const update = useMutation({
    mutationFn: (next: number) => sendJson<unknown>('PATCH', `/v1/jobs/${encodeURIComponent(jobId)}`, { priority: next }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['job', jobId] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next = Number(value.trim());
    if (value.trim() === '' || !Number.isInteger(next) || next < MIN || next > MAX) {
      setLocalError(`a whole number from ${MIN} to ${MAX}`);
      return;
    }
    setLocalError(null);
    update.mutate(next);
  };
  const apiError = update.error
    ? isRouteMissing(update.error)
      ? 'Changing a priority is not available on this deployment.'
      : (update.error instanceof ApiError ? fieldErrorsOf(update.error.details).priority : undefined) ?? describeError(update.error)
    : null;
  const error = localError ?? apiError;
  return (
    <form className="inline-form" onSubmit={submit} aria-label="Change priority" noValidate>
      <label htmlFor={id}>
        New priority
        <input
          id={id}
          type="number"
          min={MIN}
          max={MAX}
          step={1}
          value={value}
          aria-invalid={error !== null}
          aria-describedby={error ? `${id}-error` : undefined}
          onChange={(e) => setValue(e.target.value)}
        />
      </label>
      <button type="submit" disabled={update.isPending}>
        Set priority
      </button>
      {error && (
        <span id={`${id}-error`} className="field-error" role="alert">
          {error}
        </span>
      )}
      {update.isSuccess && !error && (
        <span className="muted" role="status">
          Priority set.
        </span>
      )}
    </form>
  );
}
