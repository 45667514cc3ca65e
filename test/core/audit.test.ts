import { initTRPC } from "@trpc/server";
import { describe, expect, it } from "vitest";

import { auditRouter, createCognitoM2M, type CognitoProcedureMeta } from "../../src/index.js";

const m2m = createCognitoM2M({ userPoolId: "us-east-2_Audit1", allowedClientIds: ["ops"] });
const other = createCognitoM2M({ userPoolId: "us-east-2_Audit2" });
const t = initTRPC
  .context<Awaited<ReturnType<typeof m2m.createContext>>>()
  .meta<CognitoProcedureMeta>()
  .create();
const pub = t.procedure;

const appRouter = t.router({
  health: pub.query(() => "ok"),
  forgotten: pub.mutation(() => "oops"),
  whoami: pub.concat(m2m.machineProcedure).query(() => "me"),
  widgets: t.router({
    list: pub.concat(m2m.anyScopeProcedure(["w/read", "w/admin"])).query(() => []),
    purge: pub
      .concat(m2m.clientProcedure())
      .meta({ cognito: { scopes: ["w/admin"] } })
      .mutation(() => 0),
    mapped: pub
      .concat(m2m.scopeMapProcedure({ byType: { query: ["w/read"] } }, { strict: true }))
      .query(() => 1),
  }),
  foreign: pub.concat(other.machineProcedure).query(() => "other pool"),
});

describe("auditRouter", () => {
  const audit = auditRouter(appRouter, { m2m });

  it("lists every procedure with its type, in path order", () => {
    expect(audit.map((p) => [p.path, p.type])).toEqual([
      ["foreign", "query"],
      ["forgotten", "mutation"],
      ["health", "query"],
      ["whoami", "query"],
      ["widgets.list", "query"],
      ["widgets.mapped", "query"],
      ["widgets.purge", "mutation"],
    ]);
  });

  it("reports the policy each builder enforces and the meta rules", () => {
    const byPath = Object.fromEntries(audit.map((p) => [p.path, p]));
    expect(byPath.whoami?.policies).toEqual([{ kind: "authenticated" }]);
    expect(byPath["widgets.list"]?.policies).toEqual([
      { kind: "scopes", scopes: ["w/read", "w/admin"], match: "any" },
    ]);
    expect(byPath["widgets.purge"]?.policies).toEqual([{ kind: "clients", clientIds: ["ops"] }]);
    expect(byPath["widgets.purge"]?.meta).toEqual({ scopes: ["w/admin"] });
    expect(byPath["widgets.mapped"]?.policies[0]).toMatchObject({ kind: "scopeMap", strict: true });
  });

  it("finds unguarded procedures, counting only the given instance's builders", () => {
    const unguarded = audit.filter((p) => p.access !== "protected").map((p) => p.path);
    expect(unguarded).toEqual(["foreign", "forgotten", "health"]);
    const anyInstance = auditRouter(appRouter).filter((p) => p.access !== "protected");
    expect(anyInstance.map((p) => p.path)).toEqual(["forgotten", "health"]);
  });
});
