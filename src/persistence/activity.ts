import { ConfigurationError } from "../errors.js";
import type { Logger } from "../logger.js";

/** The table behind the `ServiceClientActivity` model of `prisma/cognito_m2m.prisma`. */
export const ACTIVITY_TABLE = "cognito_m2m_service_client_activity";

/** How many client ids a tracker keeps in memory unless told otherwise. */
export const DEFAULT_MAX_CLIENTS = 10_000;

/** Failed writes are retried no sooner than this (or `minIntervalMs`, if longer). */
const MIN_RETRY_DELAY_MS = 1_000;

/** Errors and warnings are logged at most this often (or once per `minIntervalMs`, if longer). */
const MIN_LOG_INTERVAL_MS = 60_000;

/** When the client-id cap is reached, idle entries are swept at most this often. */
const SWEEP_INTERVAL_MS = 1_000;

/**
 * The part of the application's PrismaClient the tracker uses, typed structurally so the
 * library never imports `@prisma/client`. Any client generated from a schema that includes
 * `prisma/cognito_m2m.prisma` fits, `$extends` clients included.
 */
export interface ActivityPrismaClient {
  /** The delegate of the `ServiceClientActivity` model; its `upsert` is the fallback write. */
  serviceClientActivity: {
    upsert(args: {
      where: { clientId: string };
      create: { clientId: string; firstSeenAt: Date; lastSeenAt: Date };
      update: { lastSeenAt: Date };
    }): PromiseLike<unknown>;
  };
  /** Runs the race-safe statement on PostgreSQL, SQLite and MySQL. */
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>;
}

/** Options of {@link createActivityTracker}. */
export interface ActivityTrackerOptions {
  /** The application's PrismaClient (its schema must include `prisma/cognito_m2m.prisma`). */
  prisma: ActivityPrismaClient;
  /**
   * Per process, the shortest time between two writes of one client's row, in milliseconds.
   * Requests inside the interval only update memory; their latest time is written when the
   * interval ends or on {@link ActivityTracker.flush}. `0` writes after every request (batched
   * per event-loop turn). Also the delay before a failed write is retried (at least 1 s) and the
   * shortest gap between two logged errors (at least 60 s).
   */
  minIntervalMs: number;
  /** Receives database errors (`error`) and dropped-client warnings (`warn`). */
  logger: Logger;
  /** The clock. Default: `() => new Date()`. */
  now?: () => Date;
  /**
   * The database provider, which picks the write statement: `"postgresql"`, `"sqlite"` and
   * `"mysql"` use one `INSERT … ON CONFLICT` / `ON DUPLICATE KEY UPDATE` that keeps the earliest
   * `firstSeenAt` and the latest `lastSeenAt` even when processes race. Any other value uses the
   * model's `upsert`, which cannot stop `lastSeenAt` moving backwards when processes' clocks
   * disagree. Default: the client's `_activeProvider` (the schema's datasource provider).
   */
  provider?: string;
  /**
   * Most client ids held in memory at once (pending or throttled). Beyond it new client ids are
   * not tracked, with one warning per log interval. Default: 10 000.
   */
  maxClients?: number;
}

/** Records when each machine client was first and last seen. Informational only. */
export interface ActivityTracker {
  /**
   * Notes an authenticated request of `clientId` now. Synchronous; never throws and never waits
   * for the database: the write happens later, off the request path.
   */
  record(clientId: string): void;
  /** Writes every pending observation now, throttle aside. Resolves when done; never rejects. */
  flush(): Promise<void>;
  /** Stops the timers, ignores later `record` calls and flushes. Never rejects. */
  close(): Promise<void>;
}

/** The message used when the client lacks the activity model. */
export const MISSING_ACTIVITY_MODEL_MESSAGE =
  "The Prisma client has no `serviceClientActivity` model. Add prisma/cognito_m2m.prisma from " +
  "trpc-cognito-m2m to your schema folder and run `prisma generate`.";

const COLUMNS = `"client_id", "first_seen_at", "last_seen_at"`;

/** One statement per provider: insert, or keep the earliest first and the latest last time. */
const STATEMENTS: ReadonlyMap<string, string> = new Map([
  [
    "postgresql",
    `INSERT INTO "${ACTIVITY_TABLE}" AS t (${COLUMNS}) VALUES ($1, $2, $3) ` +
      `ON CONFLICT ("client_id") DO UPDATE SET ` +
      `"first_seen_at" = LEAST(t."first_seen_at", EXCLUDED."first_seen_at"), ` +
      `"last_seen_at" = GREATEST(t."last_seen_at", EXCLUDED."last_seen_at")`,
  ],
  [
    "sqlite",
    `INSERT INTO "${ACTIVITY_TABLE}" (${COLUMNS}) VALUES (?, ?, ?) ` +
      `ON CONFLICT ("client_id") DO UPDATE SET ` +
      `"first_seen_at" = MIN("first_seen_at", excluded."first_seen_at"), ` +
      `"last_seen_at" = MAX("last_seen_at", excluded."last_seen_at")`,
  ],
  [
    "mysql",
    `INSERT INTO \`${ACTIVITY_TABLE}\` (\`client_id\`, \`first_seen_at\`, \`last_seen_at\`) ` +
      `VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE ` +
      `\`first_seen_at\` = LEAST(\`first_seen_at\`, VALUES(\`first_seen_at\`)), ` +
      `\`last_seen_at\` = GREATEST(\`last_seen_at\`, VALUES(\`last_seen_at\`))`,
  ],
]);

type Write = (clientId: string, firstSeen: Date, lastSeen: Date) => PromiseLike<unknown>;

/** What the tracker knows about one client id. */
interface ClientState {
  /** Earliest observation not yet written (ms since the epoch); undefined when none. */
  firstSeen: number | undefined;
  /** Latest observation not yet written (ms since the epoch); undefined when none. */
  lastSeen: number | undefined;
  /** Clock time before which this client is not written again (throttle or retry). */
  notBefore: number;
}

/** A pending observation taken out of memory for one write. */
interface Observation {
  clientId: string;
  firstSeen: number;
  lastSeen: number;
}

/** The provider the statement is chosen for: the option, else the client's own. */
function detectProvider(prisma: ActivityPrismaClient, provider: string | undefined): string {
  if (provider !== undefined) return provider;
  const active = (prisma as { _activeProvider?: unknown })._activeProvider;
  return typeof active === "string" ? active : "unknown";
}

function writerFor(prisma: ActivityPrismaClient, provider: string): Write {
  const statement = STATEMENTS.get(provider);
  if (statement !== undefined) {
    return (clientId, firstSeen, lastSeen) =>
      prisma.$executeRawUnsafe(statement, clientId, firstSeen, lastSeen);
  }
  return (clientId, firstSeenAt, lastSeenAt) =>
    prisma.serviceClientActivity.upsert({
      where: { clientId },
      create: { clientId, firstSeenAt, lastSeenAt },
      update: { lastSeenAt },
    });
}

function validate(options: ActivityTrackerOptions): void {
  const { prisma, minIntervalMs, maxClients } = options;
  if (!Number.isFinite(minIntervalMs) || minIntervalMs < 0) {
    throw new ConfigurationError("`minIntervalMs` must be a finite number of milliseconds >= 0.");
  }
  if (maxClients !== undefined && (!Number.isInteger(maxClients) || maxClients < 1)) {
    throw new ConfigurationError("`maxClients` must be an integer >= 1.");
  }
  const delegate = (prisma as { serviceClientActivity?: { upsert?: unknown } } | undefined)
    ?.serviceClientActivity;
  if (typeof delegate?.upsert !== "function") {
    throw new ConfigurationError(MISSING_ACTIVITY_MODEL_MESSAGE);
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Creates the activity tracker: one row per client id in `cognito_m2m_service_client_activity`,
 * `firstSeenAt` the first request observed (never overwritten) and `lastSeenAt` the latest
 * written (never moving backwards). Throws {@link ConfigurationError} for bad options or a
 * client without the `serviceClientActivity` model.
 */
export function createActivityTracker(options: ActivityTrackerOptions): ActivityTracker {
  validate(options);
  return new PrismaActivityTracker(options);
}

class PrismaActivityTracker implements ActivityTracker {
  readonly #write: Write;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #minIntervalMs: number;
  readonly #retryDelayMs: number;
  readonly #logIntervalMs: number;
  readonly #maxClients: number;

  /** One entry per client id: its pending observation and when it may be written again. */
  readonly #clients = new Map<string, ClientState>();
  /** Batches run one after another; each settles (never rejects). */
  #queue: Promise<void> = Promise.resolve();
  #runScheduled = false;
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #closed = false;
  #lastSweepAt = -Infinity;
  #lastErrorLogAt = -Infinity;
  #suppressedErrors = 0;
  #lastDropLogAt = -Infinity;
  #droppedClients = 0;

  constructor(options: ActivityTrackerOptions) {
    const provider = detectProvider(options.prisma, options.provider);
    this.#write = writerFor(options.prisma, provider);
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
    this.#minIntervalMs = options.minIntervalMs;
    this.#retryDelayMs = Math.max(options.minIntervalMs, MIN_RETRY_DELAY_MS);
    this.#logIntervalMs = Math.max(options.minIntervalMs, MIN_LOG_INTERVAL_MS);
    this.#maxClients = options.maxClients ?? DEFAULT_MAX_CLIENTS;
  }

  record(clientId: string): void {
    if (this.#closed || typeof clientId !== "string" || clientId === "") return;
    try {
      this.#observe(clientId, this.#clock());
    } catch (error) {
      this.#logError(error, Date.now(), {});
    }
  }

  flush(): Promise<void> {
    return this.#enqueue(true);
  }

  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#runScheduled = false;
    return this.#enqueue(true);
  }

  #clock(): number {
    const time = this.#now().getTime();
    if (!Number.isFinite(time)) throw new TypeError("The activity clock returned an invalid Date.");
    return time;
  }

  #observe(clientId: string, now: number): void {
    let state = this.#clients.get(clientId);
    if (state === undefined) {
      if (!this.#hasRoom(now)) {
        this.#warnDropped(now);
        return;
      }
      state = { firstSeen: now, lastSeen: now, notBefore: -Infinity };
      this.#clients.set(clientId, state);
    } else {
      state.firstSeen = Math.min(state.firstSeen ?? now, now);
      state.lastSeen = Math.max(state.lastSeen ?? now, now);
    }

    if (state.notBefore <= now) this.#scheduleRun();
    else this.#armTimer(state.notBefore, now);
  }

  /** Whether a new client id fits, after sweeping idle entries (at most once a second). */
  #hasRoom(now: number): boolean {
    if (this.#clients.size < this.#maxClients) return true;
    if (now - this.#lastSweepAt < SWEEP_INTERVAL_MS) return false;
    this.#lastSweepAt = now;
    for (const [clientId, state] of this.#clients) {
      if (state.firstSeen === undefined && state.notBefore <= now) this.#clients.delete(clientId);
    }
    return this.#clients.size < this.#maxClients;
  }

  #scheduleRun(): void {
    if (this.#runScheduled || this.#closed) return;
    this.#runScheduled = true;
    this.#immediate = setImmediate(() => {
      this.#runScheduled = false;
      void this.#enqueue(false);
    });
  }

  #armTimer(at: number, now: number): void {
    if (this.#closed || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        void this.#enqueue(false);
      },
      Math.max(1, at - now),
    );
    this.#timer.unref();
  }

  #enqueue(force: boolean): Promise<void> {
    this.#queue = this.#queue.then(() => this.#run(force));
    return this.#queue;
  }

  /** Writes the due (or, when forced, all) pending observations. Never rejects. */
  async #run(force: boolean): Promise<void> {
    let now: number;
    try {
      now = this.#clock();
    } catch (error) {
      this.#logError(error, Date.now(), {});
      return;
    }

    const batch = this.#takeDue(now, force);
    const results = await Promise.allSettled(batch.map((o) => this.#writeOne(o)));
    let failed = 0;
    let firstReason: unknown;
    batch.forEach((observation, i) => {
      const result = results[i];
      if (result?.status !== "rejected") {
        this.#settle(observation.clientId, now + this.#minIntervalMs);
        return;
      }
      if (failed === 0) firstReason = result.reason;
      failed += 1;
      this.#restore(observation);
      this.#settle(observation.clientId, now + this.#retryDelayMs);
    });
    if (failed > 0) this.#logError(firstReason, now, { failedClients: failed });

    this.#armForPending(now);
  }

  /**
   * Takes the observations to write out of memory and forgets idle client ids. A client being
   * written waits (`notBefore` infinite) until its write settles, so it is never written twice
   * at once nor forgotten meanwhile.
   */
  #takeDue(now: number, force: boolean): Observation[] {
    const batch: Observation[] = [];
    for (const [clientId, state] of this.#clients) {
      if (state.firstSeen === undefined || state.lastSeen === undefined) {
        if (state.notBefore <= now) this.#clients.delete(clientId);
        continue;
      }
      if (!force && state.notBefore > now) continue;
      batch.push({ clientId, firstSeen: state.firstSeen, lastSeen: state.lastSeen });
      state.firstSeen = undefined;
      state.lastSeen = undefined;
      state.notBefore = Infinity;
    }
    return batch;
  }

  async #writeOne(o: Observation): Promise<void> {
    await this.#write(o.clientId, new Date(o.firstSeen), new Date(o.lastSeen));
  }

  /** Puts a failed observation back, merged with anything observed since, for a retry. */
  #restore(o: Observation): void {
    const state = this.#clients.get(o.clientId);
    if (state === undefined) return;
    state.firstSeen = Math.min(state.firstSeen ?? o.firstSeen, o.firstSeen);
    state.lastSeen = Math.max(state.lastSeen ?? o.lastSeen, o.lastSeen);
  }

  /** Sets when a client whose write settled may be written again. */
  #settle(clientId: string, notBefore: number): void {
    const state = this.#clients.get(clientId);
    if (state !== undefined) state.notBefore = notBefore;
  }

  /** Arms the timer for the earliest pending observation still held back. */
  #armForPending(now: number): void {
    let earliest = Infinity;
    for (const state of this.#clients.values()) {
      if (state.firstSeen !== undefined) earliest = Math.min(earliest, state.notBefore);
    }
    if (earliest === Infinity) return;
    if (earliest <= now) this.#scheduleRun();
    else this.#armTimer(earliest, now);
  }

  #logError(error: unknown, now: number, details: object): void {
    if (now - this.#lastErrorLogAt < this.#logIntervalMs) {
      this.#suppressedErrors += 1;
      return;
    }
    const suppressedErrors = this.#suppressedErrors;
    this.#lastErrorLogAt = now;
    this.#suppressedErrors = 0;
    this.#safeLog("error", "Could not record service client activity; will retry.", {
      ...details,
      error: errorMessage(error),
      suppressedErrors,
    });
  }

  #warnDropped(now: number): void {
    this.#droppedClients += 1;
    if (now - this.#lastDropLogAt < this.#logIntervalMs) return;
    this.#lastDropLogAt = now;
    const droppedClients = this.#droppedClients;
    this.#droppedClients = 0;
    this.#safeLog("warn", "Too many client ids for activity tracking; new ones are not recorded.", {
      maxClients: this.#maxClients,
      droppedClients,
    });
  }

  /** Logs without letting a failing logger reach the request path. */
  #safeLog(level: "error" | "warn", message: string, details: object): void {
    try {
      this.#logger[level](details, message);
    } catch {
      // A broken logger must not break requests; there is nowhere else to report it.
    }
  }
}
