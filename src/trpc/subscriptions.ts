import { ExpiredTokenError, findCognitoError, MissingTokenError, toTRPCError } from "../errors.js";
import type { AuthState } from "./context.js";

/** Longest delay `setTimeout` takes, in ms; longer waits are split into several timers. */
const MAX_TIMER_MS = 2_147_483_647;

/** A signal that aborts when a token expires, and the means to stop watching early. */
export interface ExpiryWatch {
  /** Aborts with the `expired_token` `TRPCError`, or with the reason of the caller's signal. */
  readonly signal: AbortSignal;
  /** Clears the timer and stops following the caller's signal; `signal` then never aborts. */
  dispose(): void;
}

/**
 * Watches the expiry of the principal in `state`: the returned signal aborts with the
 * `UNAUTHORIZED` `expired_token` `TRPCError` once `exp` plus `graceSeconds` has passed, or with
 * `signal`'s reason when that aborts first. Without a principal it is aborted at once with the
 * reason there is none (fail closed); a principal without `exp` only follows `signal`. The
 * timer is unref'd, so it never keeps the process alive.
 */
export function watchTokenExpiry(
  state: AuthState,
  graceSeconds: number,
  signal?: AbortSignal,
): ExpiryWatch {
  const controller = new AbortController();
  const idle: ExpiryWatch = { signal: controller.signal, dispose: () => undefined };

  if (signal?.aborted) {
    controller.abort(signal.reason);
    return idle;
  }
  if (state.principal === null) {
    controller.abort(toTRPCError(state.error ?? new MissingTokenError()));
    return idle;
  }

  let timer: NodeJS.Timeout | undefined;
  const dispose = () => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  const onAbort = () => {
    dispose();
    controller.abort(signal?.reason);
  };

  const exp = state.principal.exp;
  const deadline = exp === undefined ? Infinity : (exp + graceSeconds) * 1000;
  const arm = () => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      dispose();
      controller.abort(toTRPCError(new ExpiredTokenError()));
      return;
    }
    timer = setTimeout(arm, Math.min(remaining, MAX_TIMER_MS)).unref();
  };

  signal?.addEventListener("abort", onAbort, { once: true });
  if (deadline !== Infinity) arm();
  return { signal: controller.signal, dispose };
}

const STOPPED: unique symbol = Symbol("stopped");

/**
 * Yields the values of `source` until the token of `state` expires, then throws the
 * `expired_token` `TRPCError` (so tRPC ends the subscription with it). Ends quietly when
 * `signal` aborts, and closes `source` (without waiting for it) whenever it stops early.
 */
export async function* iterateUntilTokenExpiry<T>(
  state: AuthState,
  graceSeconds: number,
  source: AsyncIterable<T>,
  signal?: AbortSignal,
): AsyncGenerator<T, void, undefined> {
  const watch = watchTokenExpiry(state, graceSeconds, signal);
  const stopped = new Promise<typeof STOPPED>((resolve) => {
    if (watch.signal.aborted) resolve(STOPPED);
    watch.signal.addEventListener("abort", () => resolve(STOPPED), { once: true });
  });

  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (!watch.signal.aborted) {
      const pending = iterator.next();
      pending.catch(() => undefined);
      const next = await Promise.race([pending, stopped]);
      if (next === STOPPED) break;
      if (next.done === true) {
        finished = true;
        return;
      }
      yield next.value;
    }

    const reason: unknown = watch.signal.reason;
    if (findCognitoError(reason) !== undefined) throw reason;
  } finally {
    watch.dispose();
    if (!finished) closeQuietly(iterator);
  }
}

/**
 * Asks `iterator` to finish without waiting: a generator busy in `next()` would only finish
 * after that step. A failure to finish is ignored, since the stream is ending anyway.
 */
function closeQuietly(iterator: AsyncIterator<unknown>): void {
  try {
    iterator.return?.()?.catch(() => undefined);
  } catch {
    return;
  }
}
