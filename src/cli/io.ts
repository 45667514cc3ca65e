/** Exit status of a successful command. */
export const EXIT_OK = 0;
/** Exit status when a token could not be fetched or did not verify. */
export const EXIT_FAILURE = 1;
/** Exit status for a command line that cannot be run: unknown command or flag, missing value. */
export const EXIT_USAGE = 2;

/** Where a command reads and writes; `process` in production, fakes are possible in tests. */
export interface CliIO {
  /** Receives results only, so `$(trpc-cognito-m2m token …)` captures nothing else. */
  writeStdout(text: string): void;
  /** Receives errors and diagnostics. */
  writeStderr(text: string): void;
  /** Reads all of standard input as UTF-8. */
  readStdin(): Promise<string>;
  /** The environment variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The command line is wrong; reported with a hint to `--help` and exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Replaces every occurrence of each of `secrets` (ignoring empty ones) in `text`. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length > 0) result = result.replaceAll(secret, "[redacted]");
  }
  return result;
}

/**
 * Describes an error's `cause` chain as `Name: message; Name: message` (plain `Error`s by their
 * message alone), at most `depth` links, for the human reason behind a stable error code.
 */
export function describeCauses(error: unknown, depth = 3): string | undefined {
  const parts: string[] = [];
  let current: unknown = error instanceof Error ? error.cause : undefined;
  while (current !== undefined && current !== null && parts.length < depth) {
    if (current instanceof Error) {
      const name = errorName(current);
      parts.push(name === "Error" ? current.message : `${name}: ${current.message}`);
      current = current.cause;
    } else {
      parts.push(typeof current === "string" ? current : `non-error ${typeof current}`);
      current = undefined;
    }
  }
  return parts.length === 0 ? undefined : parts.join("; ");
}

/** The error's `name`, or its class name where the class left `name` as plain `"Error"`. */
function errorName(error: Error): string {
  if (error.name !== "Error") return error.name;
  const className = (error.constructor as { name?: unknown } | undefined)?.name;
  return typeof className === "string" && className !== "" ? className : error.name;
}
