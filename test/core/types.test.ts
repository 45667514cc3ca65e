import { initTRPC } from "@trpc/server";
import { describe, expect, expectTypeOf, it } from "vitest";

import {
  createCognitoM2M,
  type AnonymousUser,
  type CognitoProcedureMeta,
  type ServicePrincipal,
  type ServicePrincipalProxyUser,
} from "../../src/index.js";
import { createTestIssuer } from "../../src/testing/index.js";
import type { PrismaClient, User } from "../generated/prisma/client.js";

const issuer = createTestIssuer({ userPoolId: "ap-south-1_Types1" });

describe("context types (checked by tsc, exercised at run time)", () => {
  it("narrows the default keys to a non-null principal inside builders", async () => {
    const m2m = createCognitoM2M({
      userPoolId: issuer.userPoolId,
      verifierOptions: issuer.verifierOptions,
    });
    type Ctx = Awaited<ReturnType<typeof m2m.createContext>>;
    expectTypeOf<Ctx["servicePrincipal"]>().toEqualTypeOf<ServicePrincipal | null>();
    expectTypeOf<Ctx["auth"]>().toEqualTypeOf<ServicePrincipal | null>();
    expectTypeOf<Ctx["user"]>().toEqualTypeOf<ServicePrincipalProxyUser | AnonymousUser>();

    const t = initTRPC.context<Ctx>().meta<CognitoProcedureMeta>().create();
    const router = t.router({
      open: t.procedure.query(({ ctx }) => {
        expectTypeOf(ctx.servicePrincipal).toEqualTypeOf<ServicePrincipal | null>();
        return ctx.servicePrincipal?.clientId ?? null;
      }),
      closed: t.procedure.concat(m2m.scopedProcedure(["a/b"])).query(({ ctx }) => {
        expectTypeOf(ctx.servicePrincipal).toEqualTypeOf<ServicePrincipal>();
        expectTypeOf(ctx.auth).toEqualTypeOf<ServicePrincipal>();
        return ctx.servicePrincipal.clientId;
      }),
    });

    const token = issuer.mintAccessToken({ clientId: "typed", scopes: ["a/b"] });
    const ctx = await m2m.createContext({ req: { headers: { authorization: `Bearer ${token}` } } });
    const caller = t.createCallerFactory(router)(ctx);
    expect(await caller.closed()).toBe("typed");
    expect(await caller.open()).toBe("typed");
  });

  it("follows custom contextKeys", async () => {
    const m2m = createCognitoM2M({
      userPoolId: issuer.userPoolId,
      verifierOptions: issuer.verifierOptions,
      contextKeys: { principal: "machine", auth: "credential", user: "account" },
    });
    type Ctx = Awaited<ReturnType<typeof m2m.createContext>>;
    expectTypeOf<Ctx["machine"]>().toEqualTypeOf<ServicePrincipal | null>();
    expectTypeOf<Ctx["credential"]>().toEqualTypeOf<ServicePrincipal | null>();
    expectTypeOf<Ctx>().not.toHaveProperty("servicePrincipal");

    const t = initTRPC.context<Ctx>().create();
    const router = t.router({
      who: t.procedure.concat(m2m.machineProcedure).query(({ ctx }) => {
        expectTypeOf(ctx.machine).toEqualTypeOf<ServicePrincipal>();
        // @ts-expect-error the default key does not exist under custom contextKeys
        void ctx.servicePrincipal;
        return ctx.credential.clientId;
      }),
    });

    const caller = t.createCallerFactory(router)(m2m.contextFor(null));
    await expect(caller.who()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
  });

  it("refuses to concat into an app whose context lacks the library's keys", () => {
    const m2m = createCognitoM2M({
      userPoolId: issuer.userPoolId,
      verifierOptions: issuer.verifierOptions,
    });
    const t = initTRPC.context<{ somethingElse: string }>().create();
    // @ts-expect-error the app context does not carry the principal keys
    const build = () => t.procedure.concat(m2m.machineProcedure);
    expect(typeof build).toBe("function");
  });

  it("types user mapping results into the user key", () => {
    interface Account {
      id: number;
      username: string;
    }
    const m2m = createCognitoM2M({
      userPoolId: issuer.userPoolId,
      verifierOptions: issuer.verifierOptions,
      userMapping: {
        strategy: "callable",
        map: (): Promise<Account | null> => Promise.resolve(null),
      },
    });
    type Ctx = Awaited<ReturnType<typeof m2m.createContext>>;
    expectTypeOf<Ctx["user"]>().toEqualTypeOf<
      Account | ServicePrincipalProxyUser | AnonymousUser
    >();
    expect(m2m.contextKeys.user).toBe("user");
  });
});

describe("user type of field mappings (checked by tsc)", () => {
  it("is the row type of the mapped Prisma model", () => {
    // Only the types matter here: the function is never called.
    const build = (prisma: PrismaClient) =>
      createCognitoM2M({
        userPoolId: issuer.userPoolId,
        prisma,
        userMapping: { strategy: "clientIdField", field: "username" },
      });
    type Ctx = Awaited<ReturnType<ReturnType<typeof build>["createContext"]>>;
    expectTypeOf<Ctx["user"]>().toEqualTypeOf<User | ServicePrincipalProxyUser | AnonymousUser>();
    expect(typeof build).toBe("function");
  });
});
