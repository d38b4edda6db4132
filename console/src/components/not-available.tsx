import { isNotAvailable } from '../api.ts';
import { ErrorMessage } from '../layout.tsx';

/** A 404 on a whole route means this deployment's API predates the feature: say so plainly. */
export function QueryProblem({ error, feature }: { error: unknown; feature: string }) {
  if (isNotAvailable(error)) {
    return (
      <p role="status" className="notice">
        {feature} are not available on this deployment (its API does not serve them yet).
      </p>
    );
  }
  return <ErrorMessage error={error} />;
}
