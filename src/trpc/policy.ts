import type { ProcedureType } from "@trpc/server";

import {
  ClientNotAllowedError,
  ExpiredTokenError,
  InsufficientScopeError,
  MissingTokenError,
  type ScopeMatch,
} from "../errors.js";
import type { ServicePrincipal } from "../principal.js";
import type { AuthState, CognitoProcedureMeta } from "./context.js";

/** Scopes required per procedure type and per path (path entries win). */
export interface ScopeMaps {
  byType?: Partial<Record<ProcedureType, readonly string[]>>;
  byPath?: Readonly<Record<string, readonly string[]>>;
}

/** What a builder enforces beyond authentication. Also what `auditRouter` reports. */
export type Policy =
  | { kind: "authenticated" }
  | { kind: "scopes"; scopes: readonly string[]; match: ScopeMatch }
  | { kind: "clients"; clientIds: readonly string[] }
  | { kind: "scopeMap"; maps: ScopeMaps; match: ScopeMatch; strict: boolean };

/** Where a call stands when a policy is checked. */
export interface CallSite {
  path: string;
  type: ProcedureType;
  meta: CognitoProcedureMeta | undefined;
}

/** Returns the principal of `state`, or throws why there is none (missing, invalid, …). */
export function requirePrincipal(state: AuthState, graceSeconds: number): ServicePrincipal {
  const { principal, error } = state;
  if (principal === null) throw error ?? new MissingTokenError();

  const exp = principal.exp;
  if (exp !== undefined && Date.now() >= (exp + graceSeconds) * 1000) {
    throw new ExpiredTokenError();
  }
  return principal;
}

/** Throws the matching authorization error when `principal` may not make this call. */
export function enforcePolicy(
  principal: ServicePrincipal,
  policy: Policy,
  call: CallSite,
  defaultMatch: ScopeMatch,
): void {
  const rules = call.meta?.cognito;
  if (rules?.clientIds !== undefined) requireClient(principal, rules.clientIds);
  if (rules?.scopes !== undefined)
    requireScopes(principal, rules.scopes, rules.match ?? defaultMatch);

  switch (policy.kind) {
    case "authenticated":
      return;
    case "scopes":
      return requireScopes(principal, policy.scopes, policy.match);
    case "clients":
      return requireClient(principal, policy.clientIds);
    case "scopeMap": {
      const scopes = scopesFromMaps(policy.maps, call);
      if (scopes === undefined) {
        if (policy.strict) throw new InsufficientScopeError([], policy.match);
        return;
      }
      return requireScopes(principal, scopes, policy.match);
    }
  }
}

/** The scopes a scope map gives a call: its path entry, else its type entry. */
export function scopesFromMaps(maps: ScopeMaps, call: Pick<CallSite, "path" | "type">) {
  return maps.byPath?.[call.path] ?? maps.byType?.[call.type];
}

function requireScopes(principal: ServicePrincipal, scopes: readonly string[], match: ScopeMatch) {
  if (!principal.hasScopes(scopes, match)) throw new InsufficientScopeError(scopes, match);
}

function requireClient(principal: ServicePrincipal, clientIds: readonly string[]) {
  if (!clientIds.includes(principal.clientId)) throw new ClientNotAllowedError();
}
