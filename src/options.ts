import type { CognitoVerifyProperties } from "aws-jwt-verify/cognito-verifier";
import type { JwksCache } from "aws-jwt-verify/jwk";
import { z } from "zod";

import { ConfigurationError, type ScopeMatch } from "./errors.js";
import type { Logger } from "./logger.js";
import { userMappingSchema, type UserMappingOptions } from "./persistence/user-mapping.js";

/**
 * Anything that turns a token into verified claims, in place of aws-jwt-verify's
 * `CognitoJwtVerifier`. It must reject (throw) for any token it does not accept.
 */
export interface TokenVerifier {
  verify(token: string): Promise<object> | object;
  /** Optional: fetch signing keys ahead of the first request (used by `m2m.ready()`). */
  hydrate?(): Promise<void>;
}

/** Options passed through to aws-jwt-verify's `CognitoJwtVerifier`. */
export interface VerifierOptions extends Partial<
  Omit<CognitoVerifyProperties, "tokenUse" | "includeRawJwtInErrors">
> {
  /** The JWKS cache the verifier uses (for example a `SimpleJwksCache` with its own fetcher). */
  jwksCache?: JwksCache;
}

/** Names of the context properties this library fills. */
export interface ContextKeyOptions {
  /** Default `"servicePrincipal"`. */
  principal?: string;
  /** Default `"auth"`. */
  auth?: string;
  /** Default `"user"`. */
  user?: string;
}

/** Settings of the verified-token cache. */
export interface TokenCacheOptions {
  /** Most tokens kept; the least recently used one is dropped past it. Default 10 000. */
  maxEntries?: number;
  /**
   * Longest time a verified token is trusted without verifying it again, in seconds, even
   * when its `exp` is later. Bounds how long a rotated-away key keeps working. Default 300.
   */
  ttlSeconds?: number;
}

/** Settings of client activity tracking. */
export interface ActivityTrackingOptions {
  /** Least time between two writes of one client's row by this process, in ms. Default 60 000. */
  minIntervalMs?: number;
}

/** Options of {@link createCognitoM2M}. */
export interface CognitoM2MOptions {
  /** REQUIRED. The Cognito user pool id, such as `us-west-2_AbCdEfGhI`. */
  userPoolId: string;
  /** The pool's region. Optional: it is part of the pool id, and must agree with it if given. */
  region?: string;
  /**
   * Client ids allowed to call at all, and the default list of {@link clientProcedure}. A
   * valid token of another client is refused with `client_not_allowed` (403). Default: any.
   */
  allowedClientIds?: readonly string[] | null;
  /** When set, the token's `aud` claim must contain one of these values. Default: not checked. */
  audience?: string | readonly string[] | null;
  /** Replaces aws-jwt-verify's `CognitoJwtVerifier`. Returns the verified claims or throws. */
  verifier?: TokenVerifier;
  /** Passed through to aws-jwt-verify (`graceSeconds`, `customJwtCheck`, `jwksCache`, …). */
  verifierOptions?: VerifierOptions;
  /** Header that carries the token, matched case-insensitively. Default `"authorization"`. */
  headerName?: string;
  /** Authentication scheme before the token, matched case-insensitively. Default `"Bearer"`. */
  headerPrefix?: string;
  /** Names of the context properties; the procedures' context types follow them. */
  contextKeys?: ContextKeyOptions;
  /** How scope lists match when a builder does not say. Default `"all"`. */
  defaultScopeMatch?: ScopeMatch;
  /** Put a {@link ServicePrincipalProxyUser} in the user key when no user is mapped. */
  returnUserProxy?: boolean;
  /**
   * When `true` (default) a bearer token that fails verification fails the whole request.
   * When `false` the principal is `null` and protected procedures report the reason.
   */
  failOnInvalidBearer?: boolean;
  /** Receives what the library has to say (pino and console both fit). Default: silent. */
  logger?: Logger;
  /** The `realm` of `WWW-Authenticate` headers. Default `"api"`. */
  realm?: string;
  /** The verified-token cache, on by default; `false` verifies every request. */
  tokenCache?: false | TokenCacheOptions;
  /** The application's PrismaClient, for user mapping and activity tracking. */
  prisma?: unknown;
  /** Maps each principal to a row of the application's user table. Default: no mapping. */
  userMapping?: UserMappingOptions<unknown>;
  /** Record first and last sighting of each client id in the database. Default `false`. */
  trackClientActivity?: boolean | ActivityTrackingOptions;
}

const USER_POOL_ID = /^(?<region>[a-z]{2}(?:-[a-z]+)+-\d+)_[0-9a-zA-Z]+$/;
const nonEmpty = z.string().min(1);
const headerToken = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP token");

const optionsSchema = z.strictObject({
  userPoolId: z.string().regex(USER_POOL_ID, "must look like us-west-2_AbCdEfGhI"),
  region: nonEmpty.optional(),
  allowedClientIds: z.array(nonEmpty).min(1).nullish(),
  audience: z.union([nonEmpty, z.array(nonEmpty).min(1)]).nullish(),
  verifier: z
    .custom<TokenVerifier>(
      (v) =>
        typeof v === "object" && v !== null && typeof (v as TokenVerifier).verify === "function",
      "must be an object with a verify(token) method",
    )
    .optional(),
  verifierOptions: z
    .looseObject({
      graceSeconds: z.number().int().min(0).optional(),
      customJwtCheck: z
        .custom<VerifierOptions["customJwtCheck"]>((v) => typeof v === "function")
        .optional(),
      includeRawJwtInErrors: z
        .literal(false, "would copy tokens into errors and cannot be enabled")
        .optional(),
      tokenUse: z.literal("access", 'is always "access" for machine tokens').optional(),
    })
    .optional(),
  headerName: headerToken.optional(),
  headerPrefix: headerToken.optional(),
  contextKeys: z
    .strictObject({
      principal: nonEmpty.optional(),
      auth: nonEmpty.optional(),
      user: nonEmpty.optional(),
    })
    .optional(),
  defaultScopeMatch: z.enum(["all", "any"]).optional(),
  returnUserProxy: z.boolean().optional(),
  failOnInvalidBearer: z.boolean().optional(),
  logger: z
    .custom<Logger>(
      (v) =>
        typeof v === "object" &&
        v !== null &&
        ["debug", "info", "warn", "error"].every(
          (m) => typeof (v as Record<string, unknown>)[m] === "function",
        ),
      "must have debug, info, warn and error methods",
    )
    .optional(),
  realm: z
    .string()
    .regex(/^[^"\\\r\n]*$/, "must not contain quotes, backslashes or newlines")
    .optional(),
  tokenCache: z
    .union([
      z.literal(false),
      z.strictObject({
        maxEntries: z.number().int().min(1).optional(),
        ttlSeconds: z.number().positive().optional(),
      }),
    ])
    .optional(),
  prisma: z
    .custom<object>((v) => typeof v === "object" && v !== null, "must be a PrismaClient")
    .optional(),
  userMapping: userMappingSchema.optional(),
  trackClientActivity: z
    .union([z.boolean(), z.strictObject({ minIntervalMs: z.number().int().min(0).optional() })])
    .optional(),
});

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  userPoolId: string;
  region: string;
  allowedClientIds: ReadonlySet<string> | null;
  audience: ReadonlySet<string> | null;
  verifier: TokenVerifier | undefined;
  verifierOptions: VerifierOptions;
  headerName: string;
  headerPrefix: string;
  contextKeys: { principal: string; auth: string; user: string };
  defaultScopeMatch: ScopeMatch;
  returnUserProxy: boolean;
  failOnInvalidBearer: boolean;
  logger: Logger | undefined;
  realm: string;
  tokenCache: false | Required<TokenCacheOptions>;
  prisma: object | undefined;
  userMapping: UserMappingOptions<unknown> | undefined;
  activityIntervalMs: number | null;
}

/** Validates options and fills in defaults; throws {@link ConfigurationError} naming the option. */
export function resolveOptions(options: CognitoM2MOptions): ResolvedOptions {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.join(".") || "options";
    throw new ConfigurationError(
      `Invalid option "${path}": ${issue?.message ?? "invalid value"}.`,
      {
        cause: parsed.error,
      },
    );
  }

  const o = parsed.data;
  const poolRegion = USER_POOL_ID.exec(o.userPoolId)?.groups?.region ?? "";
  if (o.region !== undefined && o.region !== poolRegion) {
    throw new ConfigurationError(
      `Invalid option "region": "${o.region}" does not match the pool's region "${poolRegion}".`,
    );
  }

  const audience =
    o.audience == null ? null : typeof o.audience === "string" ? [o.audience] : o.audience;
  const activity = o.trackClientActivity;
  const activityIntervalMs =
    activity === undefined || activity === false
      ? null
      : activity === true
        ? 60_000
        : (activity.minIntervalMs ?? 60_000);

  return {
    userPoolId: o.userPoolId,
    region: poolRegion,
    allowedClientIds: o.allowedClientIds ? new Set(o.allowedClientIds) : null,
    audience: audience ? new Set(audience) : null,
    verifier: o.verifier,
    verifierOptions: options.verifierOptions ?? {},
    headerName: (o.headerName ?? "authorization").toLowerCase(),
    headerPrefix: o.headerPrefix ?? "Bearer",
    contextKeys: {
      principal: o.contextKeys?.principal ?? "servicePrincipal",
      auth: o.contextKeys?.auth ?? "auth",
      user: o.contextKeys?.user ?? "user",
    },
    defaultScopeMatch: o.defaultScopeMatch ?? "all",
    returnUserProxy: o.returnUserProxy ?? false,
    failOnInvalidBearer: o.failOnInvalidBearer ?? true,
    logger: o.logger,
    realm: o.realm ?? "api",
    tokenCache:
      o.tokenCache === false
        ? false
        : {
            maxEntries: o.tokenCache?.maxEntries ?? 10_000,
            ttlSeconds: o.tokenCache?.ttlSeconds ?? 300,
          },
    prisma: o.prisma,
    userMapping: options.userMapping,
    activityIntervalMs,
  };
}
