import type { Logger } from "../../src/logger.js";

/** One captured log call. */
export interface LogEntry {
  level: "debug" | "info" | "warn" | "error";
  details: Record<string, unknown>;
  message: string;
}

/** A Logger that keeps every call, for assertions. */
export interface CapturingLogger extends Logger {
  readonly entries: LogEntry[];
  /** The entries of one level. */
  at(level: LogEntry["level"]): LogEntry[];
}

/** Creates a {@link CapturingLogger}. */
export function capturingLogger(): CapturingLogger {
  const entries: LogEntry[] = [];
  const log =
    (level: LogEntry["level"]) =>
    (details: object, message: string): void => {
      entries.push({ level, details: { ...details }, message });
    };
  return {
    entries,
    at: (level) => entries.filter((entry) => entry.level === level),
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
}
