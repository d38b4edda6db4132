import { useQuery } from '@tanstack/react-query';
import { useClient } from '../api.ts';
import { QueryProblem } from '../components/not-available.tsx';
import { TableRegion } from '../components/table-region.tsx';

interface GroupView {
  readonly group: string;
  readonly maxGpus?: number | null;
  readonly maxRunningJobs?: number | null;
  readonly weight?: number;
  readonly usage?: { readonly gpus?: number; readonly runningJobs?: number };
}

const limit = (n: number | null | undefined) => (n === null || n === undefined ? 'no limit' : String(n));

export function GroupsPage() {
  const client = useClient();
  const groups = useQuery({
    queryKey: ['groups'],
    queryFn: () => client.get<{ groups: GroupView[] }>('/v1/groups'),
    refetchInterval: 10_000,
  });
  return (
    <section aria-labelledby="groups-title">
      <h1 id="groups-title">Groups</h1>
      {groups.error && <QueryProblem error={groups.error} feature="Groups and quotas" />}
      {groups.data && (
        <TableRegion label="Groups table">
          <table>
            <thead>
              <tr>
                <th scope="col">Group</th>
                <th scope="col">GPUs in use / quota</th>
                <th scope="col">Running jobs / quota</th>
                <th scope="col">Fair-share weight</th>
              </tr>
            </thead>
            <tbody>
              {groups.data.groups.map((g) => (
                <tr key={g.group}>
                  <td>{g.group}</td>
                  <td>
                    {g.usage?.gpus ?? 0} / {limit(g.maxGpus)}
                  </td>
                  <td>
                    {g.usage?.runningJobs ?? 0} / {limit(g.maxRunningJobs)}
                  </td>
                  <td>{g.weight ?? 1}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}
