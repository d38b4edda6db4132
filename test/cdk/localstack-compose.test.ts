import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

describe('docker-compose.yml (LocalStack)', () => {
  it('pins the LocalStack image and requires the auth token recent images need', async () => {
    const compose = await readFile(new URL('../../docker-compose.yml', import.meta.url), 'utf8');
    const images = [...compose.matchAll(/^\s*image:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
    expect(images).toHaveLength(1);
    expect(images[0]).toMatch(/^localstack\/localstack(-pro)?:\d+\.\d+\.\d+$/);
    // `:?` makes compose refuse to start without the token instead of starting a LocalStack that exits.
    expect(compose).toMatch(/LOCALSTACK_AUTH_TOKEN: \$\{LOCALSTACK_AUTH_TOKEN:\?/);
    // Ports bound to loopback only.
    expect([...compose.matchAll(/^\s*- "([^"]+:\d+(?:-\d+)?)"\s*$/gm)].every((m) => m[1]!.startsWith('127.0.0.1:'))).toBe(true);
  });
});
