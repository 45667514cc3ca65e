import { inspect } from "node:util";

import type { ScopeMatch } from "./errors.js";

/** A JSON value as found in verified token claims. */
export type ClaimValue =
  string | number | boolean | null | readonly ClaimValue[] | { readonly [key: string]: ClaimValue };

/** Verified token claims, deeply frozen. */
export type Claims = { readonly [key: string]: ClaimValue | undefined };

/** A `Set` that refuses changes once built, so a principal's scopes stay as verified. */
class FrozenSet<T> extends Set<T> {
  constructor(values: Iterable<T>) {
    super();
    for (const value of values) super.add(value);
    Object.freeze(this);
  }

  override add(): this {
    throw new TypeError("A principal's scopes cannot be changed.");
  }

  override delete(): boolean {
    throw new TypeError("A principal's scopes cannot be changed.");
  }

  override clear(): void {
    throw new TypeError("A principal's scopes cannot be changed.");
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Splits Cognito's space-separated `scope` claim. */
export function parseScopeClaim(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  return scope.split(" ").filter((s) => s.length > 0);
}

/**
 * The authenticated machine client behind a request: who it is (`clientId`), what it may do
 * (`scopes`) and the verified claims. Immutable; the raw token is kept out of JSON and
 * `util.inspect` output.
 */
export class ServicePrincipal {
  /** The Cognito app client id (`client_id` claim). */
  readonly clientId: string;
  /** The granted scopes (`scope` claim, split on spaces). */
  readonly scopes: ReadonlySet<string>;
  /** Every verified claim, deeply frozen. */
  readonly claims: Claims;
  /** Always `true`: a principal only exists for a verified token. */
  readonly isAuthenticated = true as const;
  readonly #rawToken: string;

  constructor(init: {
    clientId: string;
    scopes: Iterable<string>;
    claims: object;
    rawToken: string;
  }) {
    this.clientId = init.clientId;
    this.scopes = new FrozenSet(init.scopes);
    this.claims = deepFreeze(structuredClone(init.claims)) as Claims;
    this.#rawToken = init.rawToken;
    Object.freeze(this);
  }

  /** The bearer token this principal was verified from. Never logged or serialised. */
  get rawToken(): string {
    return this.#rawToken;
  }

  /** The `sub` claim. */
  get sub(): string | undefined {
    return stringClaim(this.claims.sub);
  }

  /** Same as {@link sub}. */
  get subject(): string | undefined {
    return this.sub;
  }

  /** The `aud` claim (string or list), when the token has one. */
  get aud(): string | readonly string[] | undefined {
    const aud = this.claims.aud;
    if (typeof aud === "string") return aud;
    if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === "string");
    return undefined;
  }

  /** Same as {@link aud}. */
  get audience(): string | readonly string[] | undefined {
    return this.aud;
  }

  /** The `iss` claim. */
  get iss(): string | undefined {
    return stringClaim(this.claims.iss);
  }

  /** Same as {@link iss}. */
  get issuer(): string | undefined {
    return this.iss;
  }

  /** The `exp` claim, in seconds since the epoch. */
  get exp(): number | undefined {
    const exp = this.claims.exp;
    return typeof exp === "number" ? exp : undefined;
  }

  /** Same as {@link exp}. */
  get expiration(): number | undefined {
    return this.exp;
  }

  /** Whether the token grants `scope`. */
  hasScope(scope: string): boolean {
    return this.scopes.has(scope);
  }

  /** Whether the token grants all (default) or any of `scopes`. An empty list always passes. */
  hasScopes(scopes: Iterable<string>, match: ScopeMatch = "all"): boolean {
    const required = [...scopes];
    if (required.length === 0) return true;
    return match === "all"
      ? required.every((s) => this.scopes.has(s))
      : required.some((s) => this.scopes.has(s));
  }

  /** A JSON view without the raw token. */
  toJSON(): { clientId: string; scopes: string[]; claims: Claims } {
    return { clientId: this.clientId, scopes: [...this.scopes], claims: this.claims };
  }

  [inspect.custom](): string {
    return `ServicePrincipal { clientId: ${JSON.stringify(this.clientId)}, scopes: [${[
      ...this.scopes,
    ]
      .map((s) => JSON.stringify(s))
      .join(", ")}] }`;
  }
}

function stringClaim(value: ClaimValue | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * A user-like stand-in for code that expects `ctx.user` (`returnUserProxy: true`). It is not a
 * database row: `id` is always `null`.
 */
export class ServicePrincipalProxyUser {
  readonly id = null;
  /** The client id, for code that reads a username. */
  readonly username: string;
  /** The client id. */
  readonly clientId: string;
  readonly isAuthenticated = true as const;
  readonly isAnonymous = false as const;
  /** The principal this user stands for. */
  readonly principal: ServicePrincipal;

  constructor(principal: ServicePrincipal) {
    this.username = principal.clientId;
    this.clientId = principal.clientId;
    this.principal = principal;
    Object.freeze(this);
  }
}

/** The user of a request with no machine principal, or with no mapped or proxy user. */
export class AnonymousUser {
  readonly id = null;
  readonly username = "";
  readonly isAuthenticated = false as const;
  readonly isAnonymous = true as const;

  constructor() {
    Object.freeze(this);
  }
}

/** The one shared anonymous user. */
export const ANONYMOUS_USER: AnonymousUser = new AnonymousUser();
