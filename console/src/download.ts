import type { RunplaneClient } from '../../cli/api-client.ts';

/**
 * Downloads an authenticated URL: a plain link cannot carry the bearer token (and the token must
 * never be put in a URL), so the file is fetched with it and handed to the browser as a blob.
 */
export async function downloadWithToken(
  client: RunplaneClient,
  path: `/${string}`,
  query: Record<string, string | number | undefined>,
  filename: string,
): Promise<void> {
  const response = await client.getRaw(path, query);
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = filename;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
