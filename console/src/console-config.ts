import { useQuery } from '@tanstack/react-query';

/**
 * What the deployment tells the console before anyone signs in: written next to the static files
 * by the CDK deployment, answered by the local platform. Never a secret.
 */
export interface ConsoleConfig {
  /** Local platform only: where the first admin key is kept (the path, never the key). */
  readonly adminKeyFile?: string;
  readonly oidc?: {
    readonly issuer: string;
    readonly clientId: string;
    /** Shown as "Sign in with <name>"; the issuer's host when absent. */
    readonly name?: string;
    readonly scopes?: string;
  };
}

export function useConsoleConfig() {
  return useQuery({
    queryKey: ['console-config'],
    queryFn: async (): Promise<ConsoleConfig> => {
      const response = await fetch('/console-config.json', { headers: { accept: 'application/json' } });
      if (!response.ok) return {};
      return (await response.json()) as ConsoleConfig;
    },
    staleTime: Infinity,
  });
}
