import { ServicePrincipal } from "../principal.js";
import { AUTH_STATE, type AuthState, type ContextKeyNames } from "./context.js";

/**
 * The authentication outcome stored in a context. Without the library's marker (a context
 * built by hand), the principal is looked up under `keys` or, failing that, in any property.
 */
export function findAuthState(ctx: unknown, keys?: ContextKeyNames): AuthState {
  if (typeof ctx !== "object" || ctx === null) return { principal: null, error: null };

  const state = (ctx as { [AUTH_STATE]?: AuthState })[AUTH_STATE];
  if (state !== undefined) return state;

  const record = ctx as Record<string, unknown>;
  const candidates = keys ? [record[keys.principal], record[keys.auth]] : Object.values(record);
  const principal = candidates.find((v): v is ServicePrincipal => v instanceof ServicePrincipal);
  return { principal: principal ?? null, error: null };
}

/** The request's machine principal, or `null`. Works whatever `contextKeys` are. */
export function getServicePrincipal(ctx: unknown): ServicePrincipal | null {
  return findAuthState(ctx).principal;
}

/** The calling client's id, or `null` when the request has no machine principal. */
export function getClientId(ctx: unknown): string | null {
  return getServicePrincipal(ctx)?.clientId ?? null;
}

/** The calling client's scopes; empty when the request has no machine principal. */
export function getScopes(ctx: unknown): ReadonlySet<string> {
  return getServicePrincipal(ctx)?.scopes ?? new Set<string>();
}

/** Whether the request carries a verified machine principal. */
export function isMachineAuthenticated(ctx: unknown): boolean {
  return getServicePrincipal(ctx) !== null;
}
