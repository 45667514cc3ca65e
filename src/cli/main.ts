#!/usr/bin/env node
/**
 * The `trpc-cognito-m2m` command: `token` fetches a client-credentials access token, `verify`
 * checks one the way a server using this library does. See `trpc-cognito-m2m --help`.
 *
 * @module
 */
import { text } from "node:stream/consumers";

import type { CliIO } from "./io.js";
import { runCli } from "./run.js";

const io: CliIO = {
  writeStdout: (chunk) => void process.stdout.write(chunk),
  writeStderr: (chunk) => void process.stderr.write(chunk),
  readStdin: () => text(process.stdin),
  env: process.env,
};

const status = await runCli(process.argv.slice(2), io);
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(status);

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}
