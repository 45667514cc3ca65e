import { hash } from "node:crypto";

import type { ServicePrincipal } from "../principal.js";

interface Entry {
  principal: ServicePrincipal;
  /** Epoch milliseconds after which the entry is not used. */
  expiresAt: number;
}

/**
 * A bounded map of verified tokens to their principals. Keys are SHA-256 digests of the token,
 * never the token. An entry lives until the token expires (with grace) or `ttlMs` passes,
 * whichever comes first; past `maxEntries` the least recently used entry is dropped.
 */
export class TokenCache {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #ttlMs: number;
  readonly #graceMs: number;

  constructor(options: { maxEntries: number; ttlSeconds: number; graceSeconds: number }) {
    this.#maxEntries = options.maxEntries;
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#graceMs = options.graceSeconds * 1000;
  }

  /** Number of entries held now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The digest used as key for `token`. */
  key(token: string): string {
    return hash("sha256", token, "base64url");
  }

  /** The cached principal for `key`, if it is still good at `now` (epoch ms). */
  get(key: string, now: number): ServicePrincipal | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;

    this.#entries.delete(key);
    if (now >= entry.expiresAt) return undefined;

    this.#entries.set(key, entry);
    return entry.principal;
  }

  /** Remembers a freshly verified principal. */
  set(key: string, principal: ServicePrincipal, now: number): void {
    const exp = principal.exp;
    const tokenLimit = exp === undefined ? Infinity : exp * 1000 + this.#graceMs;
    const expiresAt = Math.min(now + this.#ttlMs, tokenLimit);
    if (expiresAt <= now) return;

    this.#entries.delete(key);
    this.#entries.set(key, { principal, expiresAt });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
  }
}
