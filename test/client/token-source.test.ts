import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { inspect } from "node:util";

import { CognitoJwtVerifier } from "aws-jwt-verify";
import { afterEach, describe, expect, it } from "vitest";

import { createClientCredentialsTokenSource, TokenRequestError } from "../../src/client/index.js";
import type { ClientCredentialsTokenSourceOptions } from "../../src/client/index.js";
import { startLocalIssuer } from "../../src/testing/index.js";
import type { LocalIssuer } from "../../src/testing/index.js";

const POOL = "eu-central-1_Client1";
const SECRET = "s3cret-Value+/=that:must-not-leak";
const CLIENT = { clientId: "billing", clientSecret: SECRET, scopes: ["invoices/read", "x/y"] };

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startIssuer(tokenLifetimeSeconds = 3600): Promise<LocalIssuer> {
  const issuer = await startLocalIssuer({
    userPoolId: POOL,
    clients: [CLIENT],
    tokenLifetimeSeconds,
  });
  cleanups.push(() => issuer.close());
  return issuer;
}

/** A tiny server for responses the local issuer never gives. */
async function customServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth2/token`;
}

/** A fetch that counts the requests it passes on. */
function countingFetch() {
  const counter = {
    requests: 0,
    fetch: ((input, init) => {
      counter.requests += 1;
      return fetch(input, init);
    }) as typeof fetch,
  };
  return counter;
}

function source(tokenUrl: string, extra: Partial<ClientCredentialsTokenSourceOptions> = {}) {
  return createClientCredentialsTokenSource({
    tokenUrl,
    clientId: CLIENT.clientId,
    clientSecret: SECRET,
    ...extra,
  });
}

async function rejection(promise: Promise<unknown>): Promise<TokenRequestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenRequestError);
  return error as TokenRequestError;
}

function expectNoCredentials(error: unknown, ...forbidden: string[]): void {
  const basic = Buffer.from(`${CLIENT.clientId}:${encodeURIComponent(SECRET)}`).toString("base64");
  const rendered = [inspect(error, { depth: 10 }), JSON.stringify(error), String(error)].join("\n");
  for (const text of [SECRET, encodeURIComponent(SECRET), basic, ...forbidden]) {
    expect(rendered).not.toContain(text);
  }
}

describe("createClientCredentialsTokenSource against the local issuer", () => {
  it("fetches a token the pool's verifier accepts, with all client scopes by default", async () => {
    const issuer = await startIssuer();
    const token = await source(issuer.tokenUrl).getToken();

    const verifier = CognitoJwtVerifier.create(
      { userPoolId: POOL, tokenUse: "access", clientId: "billing" },
      { jwksCache: issuer.verifierOptions.jwksCache },
    );
    const payload = await verifier.verify(token);
    expect(String(payload.scope).split(" ").sort()).toEqual(["invoices/read", "x/y"]);
  });

  it("requests only the given scopes", async () => {
    const issuer = await startIssuer();
    const token = await source(issuer.tokenUrl, { scopes: ["x/y"] }).getToken();
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(payload.scope).toBe("x/y");
  });

  it("sends a form POST with HTTP Basic client authentication", async () => {
    const seen: { method?: string; type?: string; auth?: string; body?: string } = {};
    const url = await customServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        Object.assign(seen, {
          method: req.method,
          type: req.headers["content-type"],
          auth: req.headers.authorization,
          body,
        });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: "t", expires_in: 60, token_type: "Bearer" }));
      });
    });

    await source(url, { scopes: ["a/b", "c"] }).getToken();

    expect(seen.method).toBe("POST");
    expect(seen.type).toBe("application/x-www-form-urlencoded");
    const decoded = Buffer.from(seen.auth!.replace(/^Basic /, ""), "base64").toString();
    const [id, secret] = decoded.split(":").map((s) => decodeURIComponent(s.replaceAll("+", " ")));
    expect(id).toBe("billing");
    expect(secret).toBe(SECRET);
    const params = new URLSearchParams(seen.body);
    expect(params.get("grant_type")).toBe("client_credentials");
    expect(params.get("scope")).toBe("a/b c");
    expect(params.has("client_secret")).toBe(false);
  });

  it("caches the token: a second call makes no request", async () => {
    const issuer = await startIssuer();
    const counter = countingFetch();
    const tokens = source(issuer.tokenUrl, { fetch: counter.fetch });

    const first = await tokens.getToken();
    const second = await tokens.getToken();

    expect(second).toBe(first);
    expect(counter.requests).toBe(1);
  });

  it("sends one request for 100 simultaneous callers", async () => {
    const issuer = await startIssuer();
    const counter = countingFetch();
    const tokens = source(issuer.tokenUrl, { fetch: counter.fetch });

    const results = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken()));

    expect(counter.requests).toBe(1);
    expect(new Set(results).size).toBe(1);
  });

  it("refreshes refreshSkewSeconds before expiry", async () => {
    const issuer = await startIssuer(120);
    const counter = countingFetch();
    let clock = 1_000_000;
    const tokens = source(issuer.tokenUrl, { fetch: counter.fetch, now: () => clock });

    const first = await tokens.getToken();
    clock += 59_999;
    expect(await tokens.getToken()).toBe(first);
    expect(counter.requests).toBe(1);

    clock += 1;
    const second = await tokens.getToken();
    expect(counter.requests).toBe(2);
    expect(second).not.toBe(first);
  });

  it("uses a token for half its lifetime when it lives no longer than the skew", async () => {
    const issuer = await startIssuer(30);
    const counter = countingFetch();
    let clock = 0;
    const tokens = source(issuer.tokenUrl, { fetch: counter.fetch, now: () => clock });

    await tokens.getToken();
    clock = 14_999;
    await tokens.getToken();
    expect(counter.requests).toBe(1);
    clock = 15_000;
    await tokens.getToken();
    expect(counter.requests).toBe(2);
  });

  it("drops the cached token on invalidate(), or only the named one", async () => {
    const issuer = await startIssuer();
    const counter = countingFetch();
    const tokens = source(issuer.tokenUrl, { fetch: counter.fetch });

    const first = await tokens.getToken();
    tokens.invalidate();
    const second = await tokens.getToken();
    expect(counter.requests).toBe(2);
    expect(second).not.toBe(first);

    tokens.invalidate(first);
    expect(await tokens.getToken()).toBe(second);
    expect(counter.requests).toBe(2);

    tokens.invalidate(second);
    await tokens.getToken();
    expect(counter.requests).toBe(3);
  });
});

describe("token request errors", () => {
  it("reports invalid_client with status and description, and never the secret", async () => {
    const issuer = await startIssuer();
    const tokens = source(issuer.tokenUrl, { clientSecret: `${SECRET}x` });

    const error = await rejection(tokens.getToken());

    expect(error.code).toBe("invalid_client");
    expect(error.status).toBe(401);
    expect(error.description).toBeTypeOf("string");
    expect(error.name).toBe("TokenRequestError");
    expect(error.message).toMatch(/invalid_client.*401/);
    expectNoCredentials(error, `${SECRET}x`);
  });

  it("reports invalid_scope", async () => {
    const issuer = await startIssuer();
    const error = await rejection(source(issuer.tokenUrl, { scopes: ["admin"] }).getToken());
    expect(error.code).toBe("invalid_scope");
    expect(error.status).toBe(400);
    expectNoCredentials(error);
  });

  it("rejects all waiters with the same error and does not cache it", async () => {
    const issuer = await startIssuer();
    let fail = true;
    let requests = 0;
    const tokens = source(issuer.tokenUrl, {
      fetch: (input, init) => {
        requests += 1;
        if (!fail) return fetch(input, init);
        const body = JSON.stringify({ error: "invalid_client" });
        return Promise.resolve(new Response(body, { status: 401 }));
      },
    });

    const settled = await Promise.allSettled(Array.from({ length: 10 }, () => tokens.getToken()));
    const reasons = settled.map((s) => (s.status === "rejected" ? s.reason : undefined));
    expect(requests).toBe(1);
    expect(reasons[0]).toBeInstanceOf(TokenRequestError);
    expect(new Set(reasons).size).toBe(1);

    fail = false;
    expect(await tokens.getToken()).toMatch(/^ey/);
    expect(requests).toBe(2);
  });

  it("reports network_error without a status for a closed port", async () => {
    const issuer = await startIssuer();
    const tokenUrl = issuer.tokenUrl;
    await issuer.close();

    const error = await rejection(source(tokenUrl).getToken());

    expect(error.code).toBe("network_error");
    expect(error.status).toBeUndefined();
    expect(error.cause).toBeInstanceOf(Error);
    expectNoCredentials(error);
  });

  it("reports network_error when no answer arrives within requestTimeoutMs", async () => {
    const url = await customServer(() => undefined);
    const error = await rejection(source(url, { requestTimeoutMs: 100 }).getToken());
    expect(error.code).toBe("network_error");
    expect(error.description).toMatch(/100 ms/);
  });

  it("withholds a network error cause that quotes the credentials", async () => {
    const tokens = source("http://127.0.0.1:9/oauth2/token", {
      fetch: (_input, init) => {
        const headers = JSON.stringify(init?.headers);
        return Promise.reject(new TypeError("boom", { cause: new Error(`sent ${headers}`) }));
      },
    });

    const error = await rejection(tokens.getToken());

    expect(error.code).toBe("network_error");
    expect((error.cause as Error).message).toMatch(/withheld/);
    expectNoCredentials(error);
  });

  it("reports invalid_response for a body that is not JSON", async () => {
    const url = await customServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"access_token":"eyLeakedToken.abc.def", "expires_in": 3');
    });

    const error = await rejection(source(url).getToken());

    expect(error.code).toBe("invalid_response");
    expect(error.status).toBe(200);
    expectNoCredentials(error, "eyLeakedToken");
  });

  it("reports invalid_response for JSON without a usable token", async () => {
    const url = await customServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ access_token: "eyLeakedToken.a.b", expires_in: "soon" }));
    });

    const error = await rejection(source(url).getToken());

    expect(error.code).toBe("invalid_response");
    expect(error.description).toMatch(/expires_in/);
    expectNoCredentials(error, "eyLeakedToken");
  });

  it("reports invalid_response with the status for a non-OAuth error page", async () => {
    const url = await customServer((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>Bad gateway</html>");
    });

    const error = await rejection(source(url).getToken());

    expect(error.code).toBe("invalid_response");
    expect(error.status).toBe(502);
  });

  it("drops an error_description that echoes the secret", async () => {
    const url = await customServer((_req, res) => {
      res.writeHead(400, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "invalid_request", error_description: `bad ${SECRET}` }));
    });

    const error = await rejection(source(url).getToken());

    expect(error.code).toBe("invalid_request");
    expect(error.description).toBeUndefined();
    expectNoCredentials(error);
  });

  it("refuses bad options when created", () => {
    expect(() => source("http://127.0.0.1/", { clientSecret: "" })).toThrow(TypeError);
    expect(() => source("http://127.0.0.1/", { refreshSkewSeconds: -1 })).toThrow(RangeError);
    expect(() => source("not a url")).toThrow();
  });
});
