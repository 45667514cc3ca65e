/**
 * A logger: pino, console, or anything with these four methods. Calls pass a details object
 * first and the message second, the order pino expects and console prints readably. Details
 * never hold a token or a secret.
 */
export interface Logger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const noop = (): void => undefined;

/** The default logger: says nothing. */
export const silentLogger: Logger = Object.freeze({
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
});
