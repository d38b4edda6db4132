import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { JobPage } from '../../../cli/api-client.ts';
import { useClient } from '../api.ts';
import { formatCost, jobDuration } from '../format.ts';
import { jobCost, type ConsoleJob } from '../job-fields.ts';
import { CursorPager, useCursorPages } from './cursor-pager.tsx';
import { QueryProblem } from './not-available.tsx';
import { WaitingBadge } from './waiting-badge.tsx';
import { StateBadge } from './state-badge.tsx';
import { TableRegion } from './table-region.tsx';

const PAGE_SIZE = 25;

/** An array parent's children, in index order, paged by the API's cursor (`GET /v1/jobs/{id}/children`). */
export function ArrayChildren({ parentId, live }: { parentId: string; live: boolean }) {
  const client = useClient();
  const pages = useCursorPages();
  const cursor = pages.cursor;
  const children = useQuery({
    queryKey: ['children', parentId, cursor],
    queryFn: () =>
      client.get<JobPage>(`/v1/jobs/${encodeURIComponent(parentId)}/children`, { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) }),
    refetchInterval: live ? 3_000 : false,
    placeholderData: keepPreviousData,
  });
  if (children.error) return <QueryProblem error={children.error} feature="An array's children" />;
  const rows = (children.data?.jobs ?? []) as unknown as ConsoleJob[];
  return (
    <>
      <TableRegion label="Array children">
        <table>
          <thead>
            <tr>
              <th scope="col">Index</th>
              <th scope="col">Id</th>
              <th scope="col">State</th>
              <th scope="col">Duration</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((child) => (
              <tr key={child.id}>
                <td>{child.arrayIndex ?? '—'}</td>
                <td>
                  <Link to={`/jobs/${child.id}`} className="mono">
                    {child.id}
                  </Link>
                </td>
                <td>
                  <StateBadge state={child.state} />
                  <WaitingBadge job={child} />
                </td>
                <td>{jobDuration(child)}</td>
                <td>{formatCost(jobCost(child))}</td>
              </tr>
            ))}
            {children.isSuccess && rows.length === 0 && (
              <tr>
                <td colSpan={5}>No child has been made yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableRegion>
      <CursorPager
        pages={pages}
        nextCursor={children.data?.nextCursor}
        label="Pages of children"
        previousText="Previous children"
        nextText="Next children"
      />
    </>
  );
}
