import { z } from "zod";

import { ConfigurationError, UserMappingError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ServicePrincipal } from "../principal.js";

/** What a callable or mapper class receives besides the principal. */
export interface UserMappingContext {
  /** The PrismaClient given to the library, if any. */
  prisma: unknown;
}

/** A function that maps a principal to an application user, or `null` when there is none. */
export type UserMappingFunction<TUser> = (
  principal: ServicePrincipal,
  ctx: UserMappingContext,
) => Promise<TUser | null> | TUser | null;

/** An object that maps a principal to an application user, or `null` when there is none. */
export interface UserMapper<TUser> {
  /** Returns the user for `principal`, or `null`. A thrown error fails the request. */
  mapPrincipalToUser(
    principal: ServicePrincipal,
    ctx: UserMappingContext,
  ): Promise<TUser | null> | TUser | null;
}

/**
 * How an authenticated machine client is mapped to an application user. Mapping is optional;
 * a miss gives `null` (never another user), an ambiguous or failing lookup a `UserMappingError`.
 *
 * - `clientIdField`: the user whose `field` equals the token's `client_id`.
 * - `claimField`: the user whose `field` equals the token claim `claim` (a string or number).
 * - `callable`: your function.
 * - `class`: your object's `mapPrincipalToUser` method.
 */
export type UserMappingOptions<TUser = unknown> =
  | {
      /** Look the user up by the token's client id. */
      strategy: "clientIdField";
      /** The user model field that holds the client id, e.g. `"username"`. */
      field: string;
      /**
       * The PrismaClient property of the user model (`"user"` for `model User`; a model name
       * such as `"User"` also works). Default: `"user"`.
       */
      model?: string;
    }
  | {
      /** Look the user up by a claim of the token. */
      strategy: "claimField";
      /** The claim whose value is looked up, e.g. `"sub"`. Must be a string or a number. */
      claim: string;
      /** The user model field compared with the claim's value. */
      field: string;
      /** The PrismaClient property of the user model. Default: `"user"`. */
      model?: string;
    }
  | {
      /** Map with a function. */
      strategy: "callable";
      /** Returns the user, or `null`; `undefined` counts as `null`. */
      map: UserMappingFunction<TUser>;
    }
  | {
      /** Map with an object (for example an instance of your mapper class). */
      strategy: "class";
      /** Its `mapPrincipalToUser` is called as a method. */
      mapper: UserMapper<TUser>;
    };

/** The strategies that look users up with Prisma. */
type FieldMapping = Extract<UserMappingOptions, { field: string }>;

/** The default user model property of the PrismaClient. */
export const DEFAULT_USER_MODEL = "user";

const name = z.string().min(1);

/**
 * Validates the shape of a {@link UserMappingOptions} value (unknown keys are refused, so a
 * misspelt option is caught). Functions are only checked to be functions.
 */
export const userMappingSchema = z.discriminatedUnion("strategy", [
  z.strictObject({ strategy: z.literal("clientIdField"), field: name, model: name.optional() }),
  z.strictObject({
    strategy: z.literal("claimField"),
    claim: name,
    field: name,
    model: name.optional(),
  }),
  z.strictObject({
    strategy: z.literal("callable"),
    map: z.custom<UserMappingFunction<unknown>>((v) => typeof v === "function", {
      message: "must be a function",
    }),
  }),
  z.strictObject({
    strategy: z.literal("class"),
    mapper: z.custom<UserMapper<unknown>>(
      (v) =>
        typeof v === "object" &&
        v !== null &&
        typeof (v as Partial<UserMapper<unknown>>).mapPrincipalToUser === "function",
      { message: "must be an object with a mapPrincipalToUser method" },
    ),
  }),
]);

/** Checks `mapping` against {@link userMappingSchema}; throws `ConfigurationError` if wrong. */
export function assertUserMapping(mapping: unknown): asserts mapping is UserMappingOptions {
  const result = userMappingSchema.safeParse(mapping);
  if (result.success) return;
  const problems = result.error.issues.map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`,
  );
  throw new ConfigurationError(`Invalid \`userMapping\` option: ${problems.join("; ")}.`);
}

/** Whether the strategy looks users up with Prisma. */
export function isFieldMapping(mapping: UserMappingOptions<unknown>): mapping is FieldMapping {
  return mapping.strategy === "clientIdField" || mapping.strategy === "claimField";
}

/** The subset of a Prisma model delegate used for lookups. */
export interface FindManyDelegate {
  /** Prisma's `findMany`. */
  findMany(args: object): PromiseLike<unknown[]>;
}

/**
 * The model delegate called `model` on `prisma` (or its lower-camel-case form, so `"User"`
 * finds `prisma.user`), or undefined when there is none.
 */
export function findModelDelegate(prisma: unknown, model: string): FindManyDelegate | undefined {
  if (typeof prisma !== "object" || prisma === null) return undefined;
  const client = prisma as Record<string, unknown>;
  const camel = model.charAt(0).toLowerCase() + model.slice(1);
  for (const key of [model, camel]) {
    const delegate = client[key] as Partial<FindManyDelegate> | undefined;
    if (typeof delegate?.findMany === "function") return delegate as FindManyDelegate;
  }
  return undefined;
}

/** The message for a client without the configured user model. */
export function missingUserModelMessage(model: string): string {
  return (
    `The Prisma client has no \`${model}\` model (userMapping.model). Add the model to your ` +
    "schema and run `prisma generate`, or set `userMapping.model` to the client property of " +
    "your user model (e.g. `account` for `model Account`)."
  );
}

/** Finds the user for a principal: the user, `null`, `undefined`, or a promise of one. */
type Lookup = (principal: ServicePrincipal) => unknown;

function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** The value a field strategy looks up; throws when the claim is missing or unusable. */
function lookupValue(mapping: FieldMapping, principal: ServicePrincipal): string | number {
  if (mapping.strategy === "clientIdField") return principal.clientId;
  const value = principal.claims[mapping.claim];
  if (typeof value === "string" || typeof value === "number") return value;
  throw new Error(
    `Claim "${mapping.claim}" is ${describeValue(value)}; a string or number is required.`,
  );
}

function fieldLookup(mapping: FieldMapping, prisma: unknown): Lookup {
  if (prisma === undefined || prisma === null) {
    throw new ConfigurationError(
      `userMapping strategy "${mapping.strategy}" looks users up with Prisma: ` +
        "the `prisma` option is required.",
    );
  }
  const model = mapping.model ?? DEFAULT_USER_MODEL;
  const delegate = findModelDelegate(prisma, model);
  if (delegate === undefined) throw new ConfigurationError(missingUserModelMessage(model));

  return async (principal) => {
    const value = lookupValue(mapping, principal);
    const rows = await delegate.findMany({ where: { [mapping.field]: value }, take: 2 });
    if (rows.length > 1) {
      throw new Error(
        `More than one \`${model}\` has ${mapping.field} = ${JSON.stringify(value)}.`,
      );
    }
    return rows[0] ?? null;
  };
}

function lookupFor(mapping: UserMappingOptions<unknown>, prisma: unknown): Lookup {
  if (isFieldMapping(mapping)) return fieldLookup(mapping, prisma);
  const ctx: UserMappingContext = { prisma };
  if (mapping.strategy === "callable") return (principal) => mapping.map(principal, ctx);
  return (principal) => mapping.mapper.mapPrincipalToUser(principal, ctx);
}

/** The error's message with the principal's token blanked out, in case a mapper put it there. */
function safeMessage(error: unknown, principal: ServicePrincipal): string {
  const message = error instanceof Error ? error.message : String(error);
  const token = principal.rawToken;
  return token === "" ? message : message.split(token).join("[redacted]");
}

/**
 * Builds the function that maps a principal to an application user with `mapping`. It resolves
 * to the user or `null` (no match; a mapper's `undefined` also counts as `null`) and rejects with
 * `UserMappingError` (the original error as `cause`) when a lookup is ambiguous, the claim is
 * missing or not a string or number, or a lookup or mapper throws; each failure is logged with
 * `logger.error` (client id, strategy, reason; never the token).
 *
 * Throws `ConfigurationError` at once when `mapping` is malformed, or a field strategy has no
 * `prisma` or the client has no such model.
 */
export function createUserMapper<TUser>(
  mapping: UserMappingOptions<TUser>,
  deps: { prisma?: unknown; logger: Logger },
): (principal: ServicePrincipal) => Promise<TUser | null> {
  assertUserMapping(mapping);
  const lookup = lookupFor(mapping, deps.prisma);
  const { logger } = deps;

  return async (principal) => {
    try {
      const user = await lookup(principal);
      return (user ?? null) as TUser | null;
    } catch (error) {
      logger.error(
        {
          clientId: principal.clientId,
          strategy: mapping.strategy,
          error: safeMessage(error, principal),
        },
        "User mapping failed.",
      );
      throw new UserMappingError({ cause: error });
    }
  };
}
