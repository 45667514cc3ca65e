import { ConfigurationError } from "../errors.js";
import { ACTIVITY_TABLE, MISSING_ACTIVITY_MODEL_MESSAGE } from "./activity.js";
import {
  assertUserMapping,
  DEFAULT_USER_MODEL,
  findModelDelegate,
  isFieldMapping,
  missingUserModelMessage,
  type UserMappingOptions,
} from "./user-mapping.js";

/** Options of {@link checkPersistenceSetup}: the persistence parts of the library's options. */
export interface PersistenceSetupOptions {
  /** The application's PrismaClient. Required by field mappings and activity tracking. */
  prisma?: unknown;
  /** The user mapping, if any. Only field strategies are checked against the database. */
  userMapping?: UserMappingOptions<unknown>;
  /** Whether client activity is tracked (needs the `ServiceClientActivity` model and table). */
  trackActivity: boolean;
}

/** The last non-empty line of an error's message (Prisma puts the reason there), shortened. */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const lines = message.split("\n").map((line) => line.trim());
  const last = lines.filter((line) => line !== "").pop() ?? "unknown error";
  return last.length > 300 ? `${last.slice(0, 297)}...` : last;
}

async function checkUserModel(prisma: unknown, model: string, field: string): Promise<void> {
  const delegate = findModelDelegate(prisma, model);
  if (delegate === undefined) throw new ConfigurationError(missingUserModelMessage(model));
  try {
    await delegate.findMany({ select: { [field]: true }, take: 1 });
  } catch (error) {
    throw new ConfigurationError(
      `Users cannot be looked up by \`${model}.${field}\` (userMapping.field): check that the ` +
        "model has this field and that its table exists (run `prisma migrate dev`) " +
        `(cause: ${reason(error)})`,
      { cause: error },
    );
  }
}

async function checkActivityTable(prisma: unknown): Promise<void> {
  const delegate = (prisma as { serviceClientActivity?: { count?: unknown } })
    .serviceClientActivity;
  if (typeof delegate?.count !== "function") {
    throw new ConfigurationError(MISSING_ACTIVITY_MODEL_MESSAGE);
  }
  try {
    await (delegate.count as () => PromiseLike<number>).call(delegate);
  } catch (error) {
    throw new ConfigurationError(
      `Table ${ACTIVITY_TABLE} is not reachable: run \`prisma migrate dev\` (\`prisma migrate ` +
        `deploy\` in production) with the model from prisma/cognito_m2m.prisma in your schema ` +
        `(cause: ${reason(error)})`,
      { cause: error },
    );
  }
}

/**
 * Checks, once at start-up, that the database side of the configuration works: the user model
 * and field of a field mapping answer a query, and with `trackActivity` the
 * `serviceClientActivity` model exists and its table is reachable. Resolves when all is well;
 * otherwise rejects with a `ConfigurationError` that says what to add or run.
 */
export async function checkPersistenceSetup(opts: PersistenceSetupOptions): Promise<void> {
  const { prisma, userMapping, trackActivity } = opts;
  if (userMapping !== undefined) assertUserMapping(userMapping);
  const fieldMapping = userMapping !== undefined && isFieldMapping(userMapping);
  if (!fieldMapping && !trackActivity) return;

  if (typeof prisma !== "object" || prisma === null) {
    const needs = fieldMapping ? `userMapping strategy "${userMapping.strategy}"` : "trackActivity";
    throw new ConfigurationError(`${needs} needs the \`prisma\` option (your PrismaClient).`);
  }
  if (fieldMapping) {
    await checkUserModel(prisma, userMapping.model ?? DEFAULT_USER_MODEL, userMapping.field);
  }
  if (trackActivity) await checkActivityTable(prisma);
}
