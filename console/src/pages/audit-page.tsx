import { useInfiniteQuery, useMutation } from '@tanstack/react-query';
import { useClient } from '../api.ts';
import { formatTime } from '../format.ts';
import { ErrorMessage } from '../layout.tsx';
import { TableRegion } from '../components/table-region.tsx';

export function AuditPage() {
  const client = useClient();
  const entries = useInfiniteQuery({
    queryKey: ['audit'],
    queryFn: ({ pageParam }) => client.listAudit({ limit: 100, ...(pageParam ? { after: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (page) => (page.hasMore ? page.next : undefined),
  });
  const verify = useMutation({ mutationFn: () => client.verifyAudit() });
  const result = verify.data;

  return (
    <section aria-labelledby="audit-title">
      <div className="title-row">
        <h1 id="audit-title">Audit log</h1>
        <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>
          Verify chain
        </button>
      </div>
      <div aria-live="polite">
        {verify.isPending && <p>Verifying every link…</p>}
        {verify.error && <ErrorMessage error={verify.error} />}
        {result && (
          <p role="status" className={result.ok ? 'notice ok' : 'error'}>
            {result.ok
              ? `Chain intact: ${result.entries} entries and ${result.checkpoints} checkpoints across ${result.shards} shard(s).`
              : `Chain broken at shard ${result.firstBroken?.shard} seq ${result.firstBroken?.seq}: ${result.firstBroken?.problem} (${result.problems.length} problem(s)).`}
          </p>
        )}
      </div>
      {entries.error && <ErrorMessage error={entries.error} />}
      <TableRegion label="Audit entries">
        <table>
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
              <th scope="col">Shard / seq</th>
            </tr>
          </thead>
          <tbody>
            {entries.data?.pages.flatMap((p) => p.entries).map((e) => (
              <tr key={`${e.shard}/${e.seq}`}>
                <td>{formatTime(e.time)}</td>
                <td>{e.actor}</td>
                <td>{e.action}</td>
                <td className="mono">{e.target}</td>
                <td className="mono small">{JSON.stringify(e.details)}</td>
                <td>
                  {e.shard}/{e.seq}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableRegion>
      {entries.hasNextPage && (
        <button type="button" onClick={() => void entries.fetchNextPage()} disabled={entries.isFetchingNextPage}>
          Load more entries
        </button>
      )}
    </section>
  );
}
