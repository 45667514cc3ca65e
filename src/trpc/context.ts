import type { CognitoM2MError, ScopeMatch } from "../errors.js";
import type { CognitoM2MOptions } from "../options.js";
import type { AnonymousUser, ServicePrincipal, ServicePrincipalProxyUser } from "../principal.js";

/**
 * Key of the context property where the library keeps the request's authentication outcome,
 * so helpers and builders find it whatever `contextKeys` are. Spreading the context keeps it.
 * It is left out of the context's type, so router types stay nameable in declarations.
 */
export const AUTH_STATE: unique symbol = Symbol.for("trpc-cognito-m2m.auth-state");

/** The authentication outcome of one request (or websocket connection). */
export interface AuthState {
  readonly principal: ServicePrincipal | null;
  /** Why a presented token was refused, when `failOnInvalidBearer` is off. */
  readonly error: CognitoM2MError | null;
}

/** Per-procedure rules read by every builder: `.meta({ cognito: { … } })`. */
export interface CognitoProcedureMeta {
  cognito?: {
    /** Scopes the procedure requires. */
    scopes?: readonly string[];
    /** How `scopes` match; defaults to the instance's `defaultScopeMatch`. */
    match?: ScopeMatch;
    /** Client ids allowed to call the procedure. */
    clientIds?: readonly string[];
  };
}

/** Context key names after defaults. */
export interface ContextKeyNames {
  principal: string;
  auth: string;
  user: string;
}

type KeyOr<T, K extends keyof ContextKeyNames, D extends string> = T extends {
  [P in K]: infer V extends string;
}
  ? string extends V
    ? D
    : V
  : D;

/** The context key names an options object selects. */
export type KeysOf<O> = O extends { contextKeys: infer T }
  ? {
      principal: KeyOr<T, "principal", "servicePrincipal">;
      auth: KeyOr<T, "auth", "auth">;
      user: KeyOr<T, "user", "user">;
    }
  : { principal: "servicePrincipal"; auth: "auth"; user: "user" };

type RowOf<TPrisma, TModel> = TModel extends keyof TPrisma
  ? TPrisma[TModel] extends { findMany: (...args: never[]) => PromiseLike<infer R> }
    ? R extends readonly (infer Row)[]
      ? Row
      : Record<string, unknown>
    : Record<string, unknown>
  : Record<string, unknown>;

/** The row type a `userMapping` option produces, or `never` without mapping. */
export type MappedUserOf<O> = O extends { userMapping: infer M }
  ? M extends { map: (...args: never[]) => infer R }
    ? NonNullable<Awaited<R>>
    : M extends { mapper: { mapPrincipalToUser: (...args: never[]) => infer R } }
      ? NonNullable<Awaited<R>>
      : M extends { strategy: "clientIdField" | "claimField" }
        ? RowOf<
            O extends { prisma: infer P } ? P : unknown,
            M extends { model: infer N } ? N : "user"
          >
        : never
  : never;

/** What the user key holds: a mapped row, the proxy user, or the anonymous user. */
export type ContextUser<O> = MappedUserOf<O> | ServicePrincipalProxyUser | AnonymousUser;

/** The context {@link CognitoM2M.createContext} returns, keyed as the options say. */
export type CognitoM2MContext<O extends CognitoM2MOptions = CognitoM2MOptions> = {
  [P in KeysOf<O>["principal"] | KeysOf<O>["auth"]]: ServicePrincipal | null;
} & { [P in KeysOf<O>["user"]]: ContextUser<O> };

/** The context after a builder: the principal keys are non-null. */
export type AuthenticatedContext<O extends CognitoM2MOptions = CognitoM2MOptions> = {
  [P in KeysOf<O>["principal"] | KeysOf<O>["auth"]]: ServicePrincipal;
};
