import {
  initTRPC,
  type AnyMiddlewareFunction,
  type TRPCProcedureBuilder,
  type TRPCUnsetMarker,
} from "@trpc/server";

import { Authenticator } from "./authentication/authenticator.js";
import { ConfigurationError, type ScopeMatch, toTRPCError, CognitoM2MError } from "./errors.js";
import { errorData, type CognitoErrorDataFields } from "./http/error-data.js";
import { createResponseMeta, type ResponseMetaFunction } from "./http/response-meta.js";
import { silentLogger } from "./logger.js";
import { resolveOptions, type CognitoM2MOptions } from "./options.js";
import { createPersistence } from "./persistence/runtime.js";
import type { ServicePrincipal } from "./principal.js";
import {
  AUTH_STATE,
  type AuthenticatedContext,
  type AuthState,
  type CognitoM2MContext,
  type CognitoProcedureMeta,
  type ContextUser,
} from "./trpc/context.js";
import { findAuthState } from "./trpc/helpers.js";
import { enforcePolicy, requirePrincipal, type Policy, type ScopeMaps } from "./trpc/policy.js";
import { OWNER, registerPolicy } from "./trpc/registry.js";
import { iterateUntilTokenExpiry, watchTokenExpiry } from "./trpc/subscriptions.js";
import { createTokenVerification } from "./verification/index.js";

/** A procedure builder to add with `.concat()`; its resolvers see a non-null principal. */
export type MachineProcedureBuilder<O extends CognitoM2MOptions> = TRPCProcedureBuilder<
  CognitoM2MContext<O>,
  CognitoProcedureMeta,
  AuthenticatedContext<O>,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  TRPCUnsetMarker,
  false,
  unknown
>;

/** Options of the scope builders. */
export interface ScopeBuilderOptions {
  /** `"all"` or `"any"`; defaults to the instance's `defaultScopeMatch`. */
  match?: ScopeMatch;
}

/** Options of {@link CognitoM2M.scopeMapProcedure}. */
export interface ScopeMapBuilderOptions extends ScopeBuilderOptions {
  /** Deny calls the maps do not cover (default `false`: they only need authentication). */
  strict?: boolean;
}

/** An instance made by {@link createCognitoM2M}. */
export interface CognitoM2M<O extends CognitoM2MOptions = CognitoM2MOptions> {
  /**
   * The tRPC `createContext` for any adapter: reads `Authorization` (Node `req`, Fetch
   * `Request`, aws-lambda `event`) or websocket/SSE `connectionParams`.
   */
  readonly createContext: (opts?: unknown) => Promise<CognitoM2MContext<O>>;
  /** Verifies the bearer token of a header source; `null` when none is presented. */
  readonly authenticate: (headersOrRequest: unknown) => Promise<ServicePrincipal | null>;
  /** A context for `createCaller` and tests, for `principal` (or none). */
  readonly contextFor: (
    principal: ServicePrincipal | null,
    user?: ContextUser<O>,
  ) => CognitoM2MContext<O>;
  /** Fetches Cognito's signing keys now; rejects with `JwksUnavailableError` when it cannot. */
  readonly ready: () => Promise<void>;
  /**
   * Resolves when the configured Prisma models and the activity table answer; otherwise
   * rejects with a `ConfigurationError` saying what to add or run.
   */
  readonly checkSetup: () => Promise<void>;
  /** Writes pending client activity now. Never rejects. */
  readonly flush: () => Promise<void>;
  /** Flushes pending client activity and stops the tracker's timers. */
  readonly close: () => Promise<void>;
  /** Requires an authenticated machine client; honours `.meta({ cognito })`. */
  readonly machineProcedure: MachineProcedureBuilder<O>;
  /** Requires `scopes` (all of them, or any with `{ match: "any" }`). */
  scopedProcedure(
    scopes: readonly string[],
    options?: ScopeBuilderOptions,
  ): MachineProcedureBuilder<O>;
  /** Requires every one of `scopes`. */
  allScopesProcedure(scopes: readonly string[]): MachineProcedureBuilder<O>;
  /** Requires at least one of `scopes`. */
  anyScopeProcedure(scopes: readonly string[]): MachineProcedureBuilder<O>;
  /** Requires one of `clientIds` (default: the `allowedClientIds` option). */
  clientProcedure(clientIds?: readonly string[]): MachineProcedureBuilder<O>;
  /** Requires the scopes a map assigns to the call's path or procedure type. */
  scopeMapProcedure(maps: ScopeMaps, options?: ScopeMapBuilderOptions): MachineProcedureBuilder<O>;
  /** The resolved context key names. */
  readonly contextKeys: Readonly<{ principal: string; auth: string; user: string }>;
  /**
   * For the HTTP adapters' `responseMeta` option: adds `WWW-Authenticate` (RFC 6750) to 401
   * and 403 responses caused by this library and `Retry-After` to `jwks_unavailable` 503s.
   * Never changes the status. Combine with other functions through `composeResponseMeta`.
   */
  readonly responseMeta: ResponseMetaFunction;
  /**
   * For the app's `errorFormatter`: `{ cognito: { code, requiredScopes?, match?,
   * retryAfterSeconds? } }` for errors of this library, `{}` for any other error.
   */
  readonly errorData: (error: unknown) => CognitoErrorDataFields;
  /**
   * A signal for a subscription resolver that aborts with the `expired_token` `TRPCError` when
   * the context's token expires (`exp` plus `verifierOptions.graceSeconds`), or with `signal`'s
   * reason when that aborts first. Pass the resolver's `signal` so the timer is cleared when
   * the subscription stops. Without a principal it is already aborted.
   */
  readonly untilTokenExpiry: (ctx: unknown, signal?: AbortSignal) => AbortSignal;
  /**
   * Yields `source`'s values until the context's token expires, then throws the
   * `expired_token` `TRPCError`, which ends the subscription with that error:
   * `yield* m2m.withTokenExpiry(ctx, source, signal)` in an async-generator resolver.
   */
  readonly withTokenExpiry: <T>(
    ctx: unknown,
    source: AsyncIterable<T>,
    signal?: AbortSignal,
  ) => AsyncGenerator<T, void, undefined>;
}

/**
 * Creates the library for one Cognito user pool: validates options (throwing
 * `ConfigurationError`), builds the verifier once, and returns the context factory and the
 * procedure builders.
 */
export function createCognitoM2M<const O extends CognitoM2MOptions>(options: O): CognitoM2M<O> {
  const resolved = resolveOptions(options);
  const logger = resolved.logger ?? silentLogger;
  const verification = createTokenVerification(resolved, logger);
  const authenticator = new Authenticator(resolved, verification, logger);
  const persistence = createPersistence(resolved, logger);
  const keys = resolved.contextKeys;
  const graceSeconds = resolved.verifierOptions.graceSeconds ?? 0;

  type Ctx = CognitoM2MContext<O>;
  const t = initTRPC.context<Ctx>().meta<CognitoProcedureMeta>().create();
  const owner = {};

  function buildContext(state: AuthState, user: unknown): Ctx {
    return {
      [keys.principal]: state.principal,
      [keys.auth]: state.principal,
      [keys.user]: user,
      [AUTH_STATE]: state,
    } as unknown as Ctx;
  }

  function builder(policy: Policy): MachineProcedureBuilder<O> {
    const middleware: AnyMiddlewareFunction = ({ ctx, next, path, type, meta }) => {
      try {
        const principal = requirePrincipal(findAuthState(ctx, keys), graceSeconds);
        enforcePolicy(
          principal,
          policy,
          { path, type, meta: meta as CognitoProcedureMeta | undefined },
          resolved.defaultScopeMatch,
        );
        const current = ctx as Record<string, unknown>;
        // the keys already hold the principal when the library built the context: skip
        // tRPC's copy of the context, which is most of a middleware's cost
        if (current[keys.principal] === principal && current[keys.auth] === principal) {
          return next();
        }
        return next({ ctx: { [keys.principal]: principal, [keys.auth]: principal } });
      } catch (error) {
        if (error instanceof CognitoM2MError) throw toTRPCError(error);
        throw error;
      }
    };
    registerPolicy(middleware, policy, owner);
    return t.procedure.use(middleware) as unknown as MachineProcedureBuilder<O>;
  }

  const scopes = (list: readonly string[], match: ScopeMatch) =>
    builder({ kind: "scopes", scopes: Object.freeze([...list]), match });

  const instance: CognitoM2M<O> = {
    contextKeys: Object.freeze({ ...keys }),

    async createContext(opts) {
      const o = (opts ?? {}) as {
        req?: unknown;
        res?: unknown;
        event?: unknown;
        info?: { connectionParams?: unknown };
      };
      const state = await authenticator.settle(() => {
        const fromParams = authenticator.tokenFromConnectionParams(o.info?.connectionParams);
        if (fromParams !== undefined) return fromParams;
        return authenticator.tokenFromHeaders(o.req ?? o.event ?? opts);
      });
      // tRPC's client cannot show an error thrown while a websocket connects, so there the
      // reason is kept for the protected procedures to report.
      const failNow = resolved.failOnInvalidBearer && !isWebSocket(o.res);
      if (state.error !== null && failNow) throw toTRPCError(state.error);
      if (state.principal !== null) persistence.recordActivity(state.principal.clientId);

      try {
        return buildContext(state, await persistence.resolveUser(state.principal));
      } catch (error) {
        if (error instanceof CognitoM2MError) throw toTRPCError(error);
        throw error;
      }
    },

    async authenticate(headersOrRequest) {
      const token = authenticator.tokenFromHeaders(headersOrRequest);
      return token === null ? null : authenticator.principalFor(token);
    },

    contextFor(principal, user) {
      return buildContext({ principal, error: null }, user ?? persistence.fallbackUser(principal));
    },

    ready: () => verification.ready(),
    checkSetup: () => persistence.checkSetup(),
    flush: () => persistence.flush(),
    close: () => persistence.close(),

    responseMeta: createResponseMeta(resolved.realm),
    errorData,
    untilTokenExpiry: (ctx, signal) =>
      watchTokenExpiry(findAuthState(ctx, keys), graceSeconds, signal).signal,
    withTokenExpiry: (ctx, source, signal) =>
      iterateUntilTokenExpiry(findAuthState(ctx, keys), graceSeconds, source, signal),

    machineProcedure: builder({ kind: "authenticated" }),
    scopedProcedure: (list, opts) => scopes(list, opts?.match ?? resolved.defaultScopeMatch),
    allScopesProcedure: (list) => scopes(list, "all"),
    anyScopeProcedure: (list) => scopes(list, "any"),

    clientProcedure(clientIds) {
      const ids = clientIds ?? (resolved.allowedClientIds ? [...resolved.allowedClientIds] : null);
      if (ids === null || ids.length === 0) {
        throw new ConfigurationError(
          "clientProcedure() needs client ids: pass them or set the allowedClientIds option.",
        );
      }
      return builder({ kind: "clients", clientIds: Object.freeze([...ids]) });
    },

    scopeMapProcedure(maps, opts) {
      return builder({
        kind: "scopeMap",
        maps,
        match: opts?.match ?? resolved.defaultScopeMatch,
        strict: opts?.strict ?? false,
      });
    },
  };
  Object.defineProperty(instance, OWNER, { value: owner });
  return instance;
}

function isWebSocket(res: unknown): boolean {
  if (typeof res !== "object" || res === null) return false;
  const socket = res as { send?: unknown; readyState?: unknown };
  return typeof socket.send === "function" && typeof socket.readyState === "number";
}
