/**
 * Starting the benchmark's child processes (TypeScript through tsx) and talking to them over
 * the IPC channel.
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** A running child and the first message it sent. */
export interface StartedChild<M> {
  child: ChildProcess;
  message: M;
}

/** Options of {@link startChild}. */
export interface StartChildOptions {
  /** Extra Node flags, e.g. `--expose-gc` or `--cpu-prof`. */
  nodeFlags?: readonly string[];
  /** Extra environment variables. */
  env?: Readonly<Record<string, string>>;
  /** How long to wait for the first message, in ms. */
  timeoutMs: number;
}

/**
 * Forks `bench/<script>` and resolves with its first IPC message. Rejects when the child exits
 * or stays silent before that; the child is killed in both cases.
 */
export function startChild<M>(
  script: string,
  options: StartChildOptions,
): Promise<StartedChild<M>> {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = fork(path, [], {
    execArgv: ["--import", "tsx", ...(options.nodeFlags ?? [])],
    env: { ...process.env, NODE_ENV: "production", ...options.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      fail(new Error(`${script} sent nothing within ${options.timeoutMs} ms.`));
    }, options.timeoutMs);
    const onExit = (code: number | null, signal: string | null) => {
      fail(new Error(`${script} exited early (code ${code}, signal ${signal}).`));
    };
    const cleanUp = () => {
      clearTimeout(timer);
      child.off("exit", onExit);
      child.off("message", onMessage);
    };
    const onMessage = (message: unknown) => {
      cleanUp();
      resolve({ child, message: message as M });
    };
    const fail = (error: Error) => {
      cleanUp();
      child.kill("SIGKILL");
      reject(error);
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

/**
 * Asks a child to exit by closing its IPC channel (so `--cpu-prof` can write its profile),
 * and kills it if it has not exited after `graceMs`.
 */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  if (child.connected) child.disconnect();
  else child.kill("SIGTERM");

  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
