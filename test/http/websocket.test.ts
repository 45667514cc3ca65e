import { setTimeout as sleep } from "node:timers/promises";

import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { createTestIssuer } from "../../src/testing/index.js";
import { WEBSOCKETS, type Served, type TestClient } from "./support/adapters.js";
import { createTestApp, TICK_MS, type TestApp } from "./support/app.js";

const issuer = createTestIssuer({ userPoolId: "eu-west-1_HttpSocket" });
let app: TestApp;
let served: Served;
const clients: TestClient[] = [];

beforeAll(async () => {
  app = createTestApp({ ...issuer, failOnInvalidBearer: false });
  served = await WEBSOCKETS.serve(app);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await served.close();
});

/** A token that expires in one to two seconds (`exp` is in whole seconds), and its `exp`. */
function shortLivedToken(): { token: string; expMs: number } {
  const token = issuer.mintAccessToken({ clientId: "reader", scopes: [], expiresInSeconds: 2 });
  const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as {
    exp: number;
  };
  return { token, expMs: payload.exp * 1000 };
}

function connect(on: Served, authorization: string): TestClient {
  const client = on.client({ authorization });
  clients.push(client);
  return client;
}

/** Subscribes and waits for the subscription to end with an error (or to complete). */
function untilEnded(client: TestClient, name: "ticks" | "ticksBySignal") {
  return new Promise<{ values: number[]; error?: unknown; at: number }>((resolve) => {
    const values: number[] = [];
    client.trpc[name].subscribe(undefined, {
      onData: (value) => values.push(value),
      onError: (error) => resolve({ values, error, at: Date.now() }),
      onComplete: () => resolve({ values, at: Date.now() }),
    });
  });
}

describe("websocket subscriptions and long-lived connections", () => {
  it.each(["ticks", "ticksBySignal"] as const)(
    "ends a running %s subscription with UNAUTHORIZED expired_token when its token expires",
    async (name) => {
      const { token, expMs } = shortLivedToken();
      const client = connect(served, `Bearer ${token}`);

      const ended = await untilEnded(client, name);

      expect(ended.error).toBeInstanceOf(TRPCClientError);
      const error = ended.error as TRPCClientError<any>;
      expect(error.data.code).toBe("UNAUTHORIZED");
      expect(error.data.cognito).toEqual({ code: "expired_token" });
      expect(error.message).toBe("Bearer token has expired.");
      expect(JSON.stringify(error.shape)).not.toContain(token.split(".")[2]);
      expect(ended.at).toBeGreaterThanOrEqual(expMs);
      expect(ended.at).toBeLessThan(expMs + 1000);
      expect(ended.values.length).toBeGreaterThanOrEqual(3);
      expect(ended.values.slice(0, 3)).toEqual([0, 1, 2]);
    },
  );

  it("re-checks exp on every call of a long-lived connection", async () => {
    const { token, expMs } = shortLivedToken();
    const before = served.connections();
    const client = connect(served, `Bearer ${token}`);

    await expect(client.trpc.whoami.query()).resolves.toBe("reader");
    await sleep(expMs - Date.now() + 50);
    const error = await client.trpc.whoami.query().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<any>).data.code).toBe("UNAUTHORIZED");
    expect((error as TRPCClientError<any>).data.cognito).toEqual({ code: "expired_token" });
    await expect(client.trpc.health.query()).resolves.toBe("ok");
    expect(served.connections() - before).toBe(1);
  });

  it("authenticates from connectionParams { token }", async () => {
    const token = issuer.mintAccessToken({ clientId: "writer", scopes: [] });
    const client = served.client({ tokenParam: token });
    clients.push(client);
    await expect(client.trpc.whoami.query()).resolves.toBe("writer");
  });

  it("stops quietly when the client unsubscribes before the token expires", async () => {
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: [] });
    const client = connect(served, `Bearer ${token}`);
    const reportedBefore = app.reported.length;
    const values: number[] = [];
    const errors: unknown[] = [];

    const subscription = client.trpc.ticks.subscribe(undefined, {
      onData: (value) => values.push(value),
      onError: (error) => errors.push(error),
    });
    await sleep(TICK_MS * 3.5);
    subscription.unsubscribe();
    const seen = values.length;
    await sleep(TICK_MS * 3);

    expect(seen).toBeGreaterThanOrEqual(2);
    expect(values).toHaveLength(seen);
    expect(errors).toEqual([]);
    expect(app.reported.slice(reportedBefore)).toEqual([]);
  });
});

describe("websockets with failOnInvalidBearer: true", () => {
  let strictApp: TestApp;
  let strict: Served;

  beforeAll(async () => {
    strictApp = createTestApp({ ...issuer, failOnInvalidBearer: true });
    strict = await WEBSOCKETS.serve(strictApp);
  });

  afterAll(async () => {
    await strict.close();
  });

  it("keeps the connection and reports the refused token on each protected call", async () => {
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: [], expiresInSeconds: -60 });
    const client = strict.client({ authorization: `Bearer ${token}` });

    const first = await client.trpc.whoami.query().catch((e: unknown) => e);
    const second = await client.trpc.whoami.query().catch((e: unknown) => e);
    await client.dispose();

    for (const error of [first, second]) {
      expect(error).toBeInstanceOf(TRPCClientError);
      const data = (error as TRPCClientError<never>).data as unknown as {
        code?: string;
        cognito?: { code?: string };
      };
      expect(data.code).toBe("UNAUTHORIZED");
      expect(data.cognito?.code).toBe("expired_token");
    }
    const reported = strictApp.reported.map((e) => strictApp.m2m.errorData(e).cognito?.code);
    expect(reported).toContain("expired_token");
  });
});
