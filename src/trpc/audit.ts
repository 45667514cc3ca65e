import type { AnyTRPCRouter, TRPCProcedureType } from "@trpc/server";

import type { CognitoProcedureMeta } from "./context.js";
import type { Policy } from "./policy.js";
import { policyOf } from "./registry.js";

/** What one procedure of a router enforces. */
export interface ProcedureAudit {
  /** Dotted path, as clients call it (`"widgets.list"`). */
  path: string;
  /** `"query"`, `"mutation"` or `"subscription"`; `"lazy"` for a lazy router not yet loaded. */
  type: TRPCProcedureType | "lazy";
  /**
   * `"public"` when no builder of the instance guards the procedure, `"protected"` when one
   * does, `"unknown"` for lazy routers (load them before auditing).
   */
  access: "public" | "protected" | "unknown";
  /** The builders' policies, outermost first. */
  policies: Policy[];
  /** The procedure's `.meta({ cognito })` rules, if any. */
  meta: CognitoProcedureMeta["cognito"] | undefined;
}

/** Options of {@link auditRouter}. */
export interface AuditRouterOptions {
  /** Count only builders of this instance. Default: builders of any instance. */
  m2m?: object;
}

/**
 * Lists every procedure of `router` with the policy it enforces, so a test can fail when a
 * procedure is left unguarded:
 *
 * ```ts
 * expect(auditRouter(appRouter).filter((p) => p.access !== "protected").map((p) => p.path))
 *   .toEqual(["health"]);
 * ```
 */
export function auditRouter(
  router: AnyTRPCRouter,
  options: AuditRouterOptions = {},
): ProcedureAudit[] {
  const audits: ProcedureAudit[] = [];

  for (const [path, procedure] of Object.entries(
    router._def.procedures as Record<string, unknown>,
  )) {
    const def = (procedure as { _def?: ProcedureDefLike })._def;
    if (def === undefined) continue;

    const policies = (def.middlewares ?? [])
      .map((middleware) => policyOf(middleware, options.m2m))
      .filter((policy): policy is Policy => policy !== undefined);
    audits.push({
      path,
      type: def.type,
      access: policies.length > 0 ? "protected" : "public",
      policies,
      meta: (def.meta as CognitoProcedureMeta | undefined)?.cognito,
    });
  }

  for (const prefix of Object.keys(router._def.lazy as Record<string, unknown>)) {
    audits.push({ path: prefix, type: "lazy", access: "unknown", policies: [], meta: undefined });
  }
  return audits.sort((a, b) => a.path.localeCompare(b.path));
}

interface ProcedureDefLike {
  type: TRPCProcedureType;
  meta?: unknown;
  middlewares?: object[];
}
