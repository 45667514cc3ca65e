import { ConfigurationError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ResolvedOptions } from "../options.js";
import { ANONYMOUS_USER, type ServicePrincipal, ServicePrincipalProxyUser } from "../principal.js";
import {
  createActivityTracker,
  type ActivityPrismaClient,
  type ActivityTracker,
} from "./activity.js";
import { checkPersistenceSetup } from "./setup-check.js";
import { createUserMapper } from "./user-mapping.js";

/** What the instance needs from persistence, built once from the options. */
export interface Persistence {
  /** The request's user: the mapped row, else the proxy user (when on), else anonymous. */
  resolveUser(principal: ServicePrincipal | null): Promise<unknown>;
  /** The user without a database lookup: the proxy user (when on) or anonymous. */
  fallbackUser(principal: ServicePrincipal | null): unknown;
  /** Notes an authenticated request of `clientId`, off the request path. */
  recordActivity(clientId: string): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  checkSetup(): Promise<void>;
}

/** Builds user mapping and activity tracking as the options ask; both are optional. */
export function createPersistence(options: ResolvedOptions, logger: Logger): Persistence {
  const { prisma, userMapping, activityIntervalMs, returnUserProxy } = options;
  const mapUser = userMapping ? createUserMapper(userMapping, { prisma, logger }) : undefined;
  const tracker =
    activityIntervalMs === null ? undefined : trackerFor(prisma, activityIntervalMs, logger);

  const fallbackUser = (principal: ServicePrincipal | null): unknown =>
    principal !== null && returnUserProxy
      ? new ServicePrincipalProxyUser(principal)
      : ANONYMOUS_USER;

  return {
    fallbackUser,
    async resolveUser(principal) {
      if (principal === null || mapUser === undefined) return fallbackUser(principal);
      return (await mapUser(principal)) ?? fallbackUser(principal);
    },
    recordActivity: (clientId) => tracker?.record(clientId),
    flush: async () => tracker?.flush(),
    close: async () => tracker?.close(),
    checkSetup: () =>
      checkPersistenceSetup({ prisma, userMapping, trackActivity: tracker !== undefined }),
  };
}

function trackerFor(
  prisma: object | undefined,
  minIntervalMs: number,
  logger: Logger,
): ActivityTracker {
  if (prisma === undefined) {
    throw new ConfigurationError(
      'Invalid option "trackClientActivity": it needs the `prisma` option (your PrismaClient).',
    );
  }
  return createActivityTracker({ prisma: prisma as ActivityPrismaClient, minIntervalMs, logger });
}
