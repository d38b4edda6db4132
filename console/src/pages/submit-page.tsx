import { useMutation } from '@tanstack/react-query';
import { useId, useMemo, useState, type FormEvent, type ReactNode } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { ApiError } from '../../../cli/api-client.ts';
import { jobSpecSchema, type JobSpecInput } from '../../../core/jobs/job.ts';
import { describeError, useClient } from '../api.ts';
import { fieldErrorsOf } from '../field-errors.ts';
import { shellJoin, shellSplit } from '../shell-split.ts';
import { parseSlurmArray, parseSlurmDependency, type ArrayRequest, type Parsed } from '../slurm-syntax.ts';

type Field =
  | 'command'
  | 'name'
  | 'queue'
  | 'gpus'
  | 'env'
  | 'timeoutSeconds'
  | 'maxAttempts'
  | 'image'
  | 'labels'
  | 'group'
  | 'priority'
  | 'array'
  | 'dependsOn';

interface FormValues {
  command: string;
  name: string;
  queue: string;
  group: string;
  gpus: string;
  env: string;
  timeoutSeconds: string;
  maxAttempts: string;
  image: string;
  labels: string;
  priority: string;
  arraySize: string;
  arrayParallelism: string;
  arraySlurm: string;
  dependsOn: string;
}

// The API's schema decides what a job may have (an image, a priority, an array, dependencies);
// each field appears when it does, so the form never offers what the API would refuse.
const SUPPORTS_IMAGE = 'image' in jobSpecSchema.shape;
const SUPPORTS_PRIORITY = 'priority' in jobSpecSchema.shape;
const SUPPORTS_ARRAY = 'array' in jobSpecSchema.shape;
const SUPPORTS_DEPENDS_ON = 'dependsOn' in jobSpecSchema.shape;

/** What a copied spec may carry besides the fields every deployment has. */
type CopyExtras = {
  readonly image?: unknown;
  readonly priority?: number;
  readonly array?: { readonly size?: number; readonly parallelism?: number | null };
  readonly dependsOn?: readonly { readonly job: string; readonly type: string }[];
};

function linesOf(record: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(record ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
}

function initialValues(copy: (JobSpecInput & CopyExtras) | undefined): FormValues {
  return {
    command: copy ? shellJoin(copy.command) : '',
    name: copy?.name ?? '',
    queue: copy?.queue ?? 'default',
    group: '',
    gpus: String(copy?.resources?.gpus ?? 0),
    env: linesOf(copy?.env),
    timeoutSeconds: copy?.timeoutSeconds !== undefined ? String(copy.timeoutSeconds) : '',
    maxAttempts: copy?.maxAttempts !== undefined ? String(copy.maxAttempts) : '',
    image: String(copy?.image ?? ''),
    labels: linesOf(copy?.labels),
    priority: copy?.priority ? String(copy.priority) : '',
    arraySize: copy?.array?.size !== undefined ? String(copy.array.size) : '',
    arrayParallelism: copy?.array?.parallelism ? String(copy.array.parallelism) : '',
    arraySlurm: '',
    dependsOn: (copy?.dependsOn ?? []).map((d) => `${d.type}:${d.job}`).join(','),
  };
}

/** `K=V` per line; a line without `=` is reported as the field's error. */
function parsePairs(text: string): { value: Record<string, string> } | { error: string } {
  const value: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return { error: `line ${i + 1}: write NAME=value` };
    value[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { value };
}

function toNumber(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}

/** The form's values as the request body, checked with the API's own schema; errors per field. */
export function buildSpec(values: FormValues): { spec: JobSpecInput & { group?: string }; errors: Partial<Record<Field, string>> } {
  const errors: Partial<Record<Field, string>> = {};
  const split = shellSplit(values.command);
  if ('error' in split) errors.command = split.error;
  const env = parsePairs(values.env);
  if ('error' in env) errors.env = env.error;
  const labels = parsePairs(values.labels);
  if ('error' in labels) errors.labels = labels.error;
  const spec: Record<string, unknown> = {
    command: 'argv' in split ? split.argv : [],
    queue: values.queue.trim() || undefined,
    env: 'value' in env ? env.value : {},
    labels: 'value' in labels ? labels.value : {},
    resources: { gpus: toNumber(values.gpus) ?? 0 },
  };
  if (values.name.trim()) spec.name = values.name.trim();
  if (toNumber(values.timeoutSeconds) !== undefined) spec.timeoutSeconds = toNumber(values.timeoutSeconds);
  if (toNumber(values.maxAttempts) !== undefined) spec.maxAttempts = toNumber(values.maxAttempts);
  if (SUPPORTS_IMAGE && values.image.trim()) spec.image = values.image.trim();
  if (SUPPORTS_PRIORITY && toNumber(values.priority) !== undefined) spec.priority = toNumber(values.priority);
  if (SUPPORTS_ARRAY) {
    const array = arrayOf(values);
    if ('error' in array) errors.array = array.error;
    else if (array.value) spec.array = array.value;
  }
  if (SUPPORTS_DEPENDS_ON) {
    const deps = parseSlurmDependency(values.dependsOn);
    if ('error' in deps) errors.dependsOn = deps.error;
    else if (deps.value.length > 0) spec.dependsOn = deps.value;
  }
  const parsed = jobSpecSchema.safeParse(spec);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const top = String(issue.path[0] ?? 'command');
      const field = (top === 'resources' ? 'gpus' : top) as Field;
      const where = issue.path.length > 1 && top !== 'resources' ? `${issue.path.slice(1).join('.')}: ` : '';
      // A bad record key ("1BAD=x") carries the key's own message inside.
      const inner = 'issues' in issue && Array.isArray(issue.issues) ? (issue.issues[0] as { message?: string } | undefined) : undefined;
      errors[field] ??= `${where}${inner?.message ?? issue.message}`;
    }
  }
  const body = { ...(spec as JobSpecInput), ...(values.group.trim() ? { group: values.group.trim() } : {}) };
  return { spec: body, errors };
}

/** The array fields: size and parallelism, or Slurm's `--array` syntax (not both). */
function arrayOf(values: FormValues): Parsed<ArrayRequest | undefined> {
  const size = values.arraySize.trim();
  const parallelism = values.arrayParallelism.trim();
  if (values.arraySlurm.trim()) {
    if (size) return { error: 'give a size or Slurm --array task ids, not both' };
    const parsed = parseSlurmArray(values.arraySlurm);
    if ('error' in parsed) return parsed;
    if (parallelism && parsed.value.parallelism !== undefined) return { error: 'parallelism given twice (%N and the field)' };
    return { value: parallelism ? { ...parsed.value, parallelism: Number(parallelism) } : parsed.value };
  }
  if (!size) return parallelism ? { error: 'parallelism needs an array size' } : { value: undefined };
  return { value: { size: Number(size), ...(parallelism ? { parallelism: Number(parallelism) } : {}) } };
}

export function SubmitPage() {
  const client = useClient();
  const navigate = useNavigate();
  const location = useLocation();
  const copy = (location.state as { copyOf?: JobSpecInput & CopyExtras } | null)?.copyOf;
  const [values, setValues] = useState<FormValues>(() => initialValues(copy));
  const [touched, setTouched] = useState(false);
  const { spec, errors } = useMemo(() => buildSpec(values), [values]);
  const argv = 'argv' in shellSplit(values.command) ? (spec.command as string[]) : [];

  const submit = useMutation({
    mutationFn: () => client.submitJob(spec),
    onSuccess: (job) => void navigate(`/jobs/${job.id}`),
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (Object.keys(errors).length === 0) submit.mutate();
  };
  const set = (field: keyof FormValues) => (value: string) => setValues((v) => ({ ...v, [field]: value }));
  const serverFields = submit.error instanceof ApiError ? fieldErrorsOf(submit.error.details) : {};
  const error = (field: Field) => (touched || values[field as keyof FormValues] ? errors[field] : undefined) ?? serverFields[field];
  const unplaced = Object.entries(serverFields).filter(([field]) => !FIELDS.has(field as Field));

  return (
    <section aria-labelledby="submit-title">
      <h1 id="submit-title">{copy ? 'Submit a copy' : 'Submit a job'}</h1>
      <form className="submit-form" onSubmit={onSubmit} noValidate>
        <FormField label="Command" error={error('command')} hint="Split like a shell line, without expansion.">
          {(props) => <input {...props} value={values.command} onChange={(e) => set('command')(e.target.value)} className="mono" required />}
        </FormField>
        <div className="argv-preview" aria-live="polite">
          <span>Sends:</span>{' '}
          {argv.length === 0 ? (
            <span className="muted">nothing yet</span>
          ) : (
            <code aria-label="Argv that will be sent">{JSON.stringify(argv)}</code>
          )}
        </div>
        <FormField label="Name" error={error('name')}>
          {(props) => <input {...props} value={values.name} onChange={(e) => set('name')(e.target.value)} />}
        </FormField>
        <div className="field-row">
          <FormField label="Queue" error={error('queue')}>
            {(props) => <input {...props} value={values.queue} onChange={(e) => set('queue')(e.target.value)} />}
          </FormField>
          <FormField label="Group" error={error('group')} hint="Empty: your first group.">
            {(props) => <input {...props} value={values.group} onChange={(e) => set('group')(e.target.value)} />}
          </FormField>
          <FormField label="GPUs" error={error('gpus')}>
            {(props) => <input {...props} type="number" min={0} value={values.gpus} onChange={(e) => set('gpus')(e.target.value)} />}
          </FormField>
        </div>
        <div className="field-row">
          <FormField label="Timeout (seconds)" error={error('timeoutSeconds')} hint="Empty: 24 hours.">
            {(props) => (
              <input {...props} type="number" min={1} value={values.timeoutSeconds} onChange={(e) => set('timeoutSeconds')(e.target.value)} />
            )}
          </FormField>
          <FormField label="Attempts" error={error('maxAttempts')} hint="Empty: the queue's default.">
            {(props) => (
              <input {...props} type="number" min={1} value={values.maxAttempts} onChange={(e) => set('maxAttempts')(e.target.value)} />
            )}
          </FormField>
          {SUPPORTS_IMAGE && (
            <FormField label="Image" error={error('image')}>
              {(props) => <input {...props} value={values.image} onChange={(e) => set('image')(e.target.value)} />}
            </FormField>
          )}
        </div>
        {SUPPORTS_PRIORITY && (
          <FormField label="Priority" error={error('priority')} hint="-1000 to 1000; higher starts first within your group. Empty: 0.">
            {(props) => <input {...props} type="number" min={-1000} max={1000} value={values.priority} onChange={(e) => set('priority')(e.target.value)} />}
          </FormField>
        )}
        {SUPPORTS_ARRAY && (
          <fieldset className="field-group">
            <legend>Array</legend>
            <div className="field-row">
              <FormField label="Array size" error={undefined} hint="Empty: a single job.">
                {(props) => <input {...props} type="number" min={1} value={values.arraySize} onChange={(e) => set('arraySize')(e.target.value)} />}
              </FormField>
              <FormField label="Parallelism" error={undefined} hint="At most this many run at once. Empty: no limit.">
                {(props) => (
                  <input {...props} type="number" min={1} value={values.arrayParallelism} onChange={(e) => set('arrayParallelism')(e.target.value)} />
                )}
              </FormField>
              <FormField label="Or Slurm --array" error={error('array')} hint="Task ids like 0-99%8 or 1,3,5-7.">
                {(props) => <input {...props} className="mono" value={values.arraySlurm} onChange={(e) => set('arraySlurm')(e.target.value)} />}
              </FormField>
            </div>
            <SendsPreview label="Array that will be sent" value={(spec as Record<string, unknown>).array} />
          </fieldset>
        )}
        {SUPPORTS_DEPENDS_ON && (
          <>
            <FormField label="Depends on" error={error('dependsOn')} hint="Slurm --dependency: afterok:ID:ID,afterany:ID (afternotok, aftercorr). A bare id means afterok.">
              {(props) => <input {...props} className="mono" value={values.dependsOn} onChange={(e) => set('dependsOn')(e.target.value)} />}
            </FormField>
            <SendsPreview label="Dependencies that will be sent" value={(spec as Record<string, unknown>).dependsOn} />
          </>
        )}
        <FormField label="Environment" error={error('env')} hint="NAME=value, one per line.">
          {(props) => <textarea {...props} rows={3} className="mono" value={values.env} onChange={(e) => set('env')(e.target.value)} />}
        </FormField>
        <FormField label="Labels" error={error('labels')} hint="key=value, one per line.">
          {(props) => <textarea {...props} rows={2} className="mono" value={values.labels} onChange={(e) => set('labels')(e.target.value)} />}
        </FormField>
        {submit.error !== null && (
          <div role="alert" className="error">
            <p>{describeError(submit.error)}</p>
            {unplaced.length > 0 && (
              <ul>
                {unplaced.map(([field, message]) => (
                  <li key={field}>
                    {field}: {message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <button type="submit" disabled={submit.isPending}>
          Submit
        </button>
      </form>
    </section>
  );
}

const FIELDS = new Set<Field>([
  'command',
  'name',
  'queue',
  'gpus',
  'env',
  'timeoutSeconds',
  'maxAttempts',
  'image',
  'labels',
  'group',
  'priority',
  'array',
  'dependsOn',
]);

/** The JSON a field group adds to the request, shown as it will be sent. */
function SendsPreview({ label, value }: { label: string; value: unknown }) {
  return (
    <div className="argv-preview" aria-live="polite">
      <span>Sends:</span>{' '}
      {value === undefined ? <span className="muted">nothing</span> : <code aria-label={label}>{JSON.stringify(value)}</code>}
    </div>
  );
}

interface ControlProps {
  id: string;
  'aria-invalid': boolean;
  'aria-describedby'?: string;
}

function FormField({
  label,
  error,
  hint,
  children,
}: {
  label: string;
  error: string | undefined;
  hint?: string;
  children: (props: ControlProps) => ReactNode;
}) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': error !== undefined, ...(described ? { 'aria-describedby': described } : {}) })}
      {hint && (
        <span id={`${id}-hint`} className="hint">
          {hint}
        </span>
      )}
      {error && (
        <span id={`${id}-error`} className="field-error">
          {error}
        </span>
      )}
    </div>
  );
}
