/**
 * The two ways a command ends other than success or an API error; main.ts turns each into its
 * exit code (exit-codes.ts).
 */

/** A usage problem found after commander's own parsing (conflicting options, bad URL from the environment). */
export class UsageError extends Error {}

/** A command's outcome when it is not success but also not an error to report (`submit --wait` on a failed job). */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
