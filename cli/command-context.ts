/**
 * What every command module receives: the outside world, its writers, and a way to reach the API.
 * Commands take nothing from `process` directly (cli-io.ts).
 */
import type { Command } from 'commander';
import { connectToApi, type ApiConnection } from './api-connection.ts';
import type { CliIo } from './cli-io.ts';
import { commandOutput, type CommandOutput } from './command-output.ts';

export interface CommandContext {
  readonly io: CliIo;
  readonly output: CommandOutput;
  /** The API client for the command being run (global `--url`, `--token`, `--json`). */
  readonly connect: (command: Command) => Promise<ApiConnection>;
}

export function commandContext(io: CliIo): CommandContext {
  return { io, output: commandOutput(io), connect: (command) => connectToApi(command, io) };
}

/** Adds a command's options, arguments and action to the command main.ts created for it. */
export type RegisterCommand = (command: Command, context: CommandContext) => void;
