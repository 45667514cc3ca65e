import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from "./io.js";
import { MAIN_HELP, PROGRAM, TOKEN_HELP, VERIFY_HELP } from "./help.js";
import { runTokenCommand } from "./token-command.js";
import { runVerifyCommand } from "./verify-command.js";

type Command = (args: readonly string[], io: CliIO, printHelp: () => void) => Promise<number>;

const COMMANDS: ReadonlyMap<string, { run: Command; help: string }> = new Map([
  ["token", { run: runTokenCommand, help: TOKEN_HELP }],
  ["verify", { run: runVerifyCommand, help: VERIFY_HELP }],
]);

/** Runs the command line `argv` (without `node` and the script) and returns the exit status. */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (isUsageError(error)) {
      io.writeStderr(`error: ${error.message}\nRun "${PROGRAM} --help" for usage.\n`);
      return EXIT_USAGE;
    }
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    io.writeStderr(`error: unexpected failure: ${detail}\n`);
    return EXIT_FAILURE;
  }
}

async function dispatch(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.writeStderr(MAIN_HELP);
    return EXIT_USAGE;
  }
  if (name === "--help" || name === "-h") {
    io.writeStdout(MAIN_HELP);
    return EXIT_OK;
  }
  if (name === "help") return showHelp(rest, io);

  const command = COMMANDS.get(name);
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)}.`);
  return command.run(rest, io, () => io.writeStdout(command.help));
}

function showHelp(args: readonly string[], io: CliIO): number {
  const [topic, extra] = args;
  if (extra !== undefined) throw new UsageError("help takes at most one command name.");
  if (topic === undefined) {
    io.writeStdout(MAIN_HELP);
    return EXIT_OK;
  }

  const command = COMMANDS.get(topic);
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(topic)}.`);
  io.writeStdout(command.help);
  return EXIT_OK;
}

/** Our own usage errors and the ones `util.parseArgs` throws (unknown flag, missing value). */
function isUsageError(error: unknown): error is Error {
  if (error instanceof UsageError) return true;
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}
