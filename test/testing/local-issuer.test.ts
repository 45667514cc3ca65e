import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import { CognitoJwtVerifier } from "aws-jwt-verify";
import { FetchError, KidNotFoundInJwksError, NonRetryableFetchError } from "aws-jwt-verify/error";
import { afterEach, describe, expect, it } from "vitest";

import { startLocalIssuer } from "../../src/testing/index.js";
import type { LocalIssuer, LocalIssuerOptions } from "../../src/testing/index.js";
import { LoopbackJwksFetcher } from "../../src/testing/loopback-fetcher.js";

const POOL = "us-east-2_LocalPool";
const READER = { clientId: "reader", clientSecret: "reader-secret", scopes: ["orders/read"] };
const WRITER = {
  clientId: "writer",
  clientSecret: "p@ss: w/ + & = é",
  scopes: ["orders/read", "orders/write"],
};
const FORM = { "content-type": "application/x-www-form-urlencoded" };

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function start(options: Partial<LocalIssuerOptions> = {}): Promise<LocalIssuer> {
  const issuer = await startLocalIssuer({
    userPoolId: POOL,
    clients: [READER, WRITER],
    ...options,
  });
  cleanups.push(() => issuer.close());
  return issuer;
}

function verifierFor(issuer: LocalIssuer) {
  return CognitoJwtVerifier.create(
    { userPoolId: issuer.userPoolId, tokenUse: "access", clientId: null },
    { jwksCache: issuer.verifierOptions.jwksCache },
  );
}

function basic(clientId: string, clientSecret: string): string {
  const encode = (s: string) => encodeURIComponent(s).replaceAll("%20", "+");
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString("base64")}`;
}

async function postToken(issuer: LocalIssuer, body: string, headers: Record<string, string>) {
  const response = await fetch(issuer.tokenUrl, { method: "POST", headers, body });
  return { response, json: (await response.json()) as Record<string, unknown> };
}

function withBasic(client: { clientId: string; clientSecret: string }) {
  return { ...FORM, authorization: basic(client.clientId, client.clientSecret) };
}

describe("startLocalIssuer: successful token requests", () => {
  it("issues a token for Basic client authentication", async () => {
    const issuer = await start();
    const { response, json } = await postToken(
      issuer,
      "grant_type=client_credentials&scope=orders%2Fread",
      withBasic(READER),
    );

    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(Object.keys(json).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    expect(json).toMatchObject({ expires_in: 3600, token_type: "Bearer" });

    const payload = await verifierFor(issuer).verify(json.access_token as string);
    expect(payload).toMatchObject({
      client_id: "reader",
      sub: "reader",
      scope: "orders/read",
      iss: `https://cognito-idp.us-east-2.amazonaws.com/${POOL}`,
      token_use: "access",
    });
    expect(payload.exp - payload.iat).toBe(3600);
  });

  it("issues a token for body client authentication", async () => {
    const issuer = await start({ tokenLifetimeSeconds: 120 });
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: WRITER.clientId,
      client_secret: WRITER.clientSecret,
      scope: "orders/write",
    });
    const { response, json } = await postToken(issuer, body.toString(), FORM);

    expect(response.status).toBe(200);
    expect(json.expires_in).toBe(120);
    const payload = await verifierFor(issuer).verify(json.access_token as string);
    expect(payload.scope).toBe("orders/write");
    expect(payload.exp - payload.iat).toBe(120);
  });

  it("URL-decodes Basic credentials as RFC 6749 §2.3.1 requires", async () => {
    const issuer = await start();
    const { response, json } = await postToken(
      issuer,
      "grant_type=client_credentials",
      withBasic(WRITER),
    );
    expect(response.status).toBe(200);
    expect((await verifierFor(issuer).verify(json.access_token as string)).client_id).toBe(
      "writer",
    );
  });

  it("grants all of the client's scopes when scope is omitted", async () => {
    const issuer = await start();
    const { json } = await postToken(issuer, "grant_type=client_credentials", withBasic(WRITER));
    const payload = await verifierFor(issuer).verify(json.access_token as string);
    expect(String(payload.scope).split(" ").sort()).toEqual(["orders/read", "orders/write"]);
  });

  it("accepts a charset parameter on the content type", async () => {
    const issuer = await start();
    const headers = {
      ...withBasic(READER),
      "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
    };
    const { response } = await postToken(issuer, "grant_type=client_credentials", headers);
    expect(response.status).toBe(200);
  });
});

describe("startLocalIssuer: RFC 6749 errors", () => {
  const cases: {
    name: string;
    body: string;
    headers: Record<string, string>;
    status: number;
    error: string;
    challenge: boolean;
  }[] = [
    {
      name: "unknown client via Basic",
      body: "grant_type=client_credentials",
      headers: { ...FORM, authorization: basic("nobody", "reader-secret") },
      status: 401,
      error: "invalid_client",
      challenge: true,
    },
    {
      name: "wrong secret via Basic",
      body: "grant_type=client_credentials",
      headers: { ...FORM, authorization: basic("reader", "reader-secreT") },
      status: 401,
      error: "invalid_client",
      challenge: true,
    },
    {
      name: "malformed Basic credentials",
      body: "grant_type=client_credentials",
      headers: { ...FORM, authorization: "Basic !!!" },
      status: 401,
      error: "invalid_client",
      challenge: true,
    },
    {
      name: "wrong secret in the body",
      body: "grant_type=client_credentials&client_id=reader&client_secret=nope",
      headers: FORM,
      status: 401,
      error: "invalid_client",
      challenge: false,
    },
    {
      name: "no client authentication",
      body: "grant_type=client_credentials",
      headers: FORM,
      status: 401,
      error: "invalid_client",
      challenge: false,
    },
    {
      name: "an unsupported grant type",
      body: "grant_type=password&username=a&password=b",
      headers: withBasic(READER),
      status: 400,
      error: "unsupported_grant_type",
      challenge: false,
    },
    {
      name: "a scope the client lacks",
      body: "grant_type=client_credentials&scope=orders%2Fread+orders%2Fwrite",
      headers: withBasic(READER),
      status: 400,
      error: "invalid_scope",
      challenge: false,
    },
    {
      name: "a missing grant_type",
      body: "scope=orders%2Fread",
      headers: withBasic(READER),
      status: 400,
      error: "invalid_request",
      challenge: false,
    },
    {
      name: "both authentication methods at once",
      body: "grant_type=client_credentials&client_id=reader&client_secret=reader-secret",
      headers: withBasic(READER),
      status: 400,
      error: "invalid_request",
      challenge: false,
    },
    {
      name: "a JSON content type",
      body: JSON.stringify({ grant_type: "client_credentials" }),
      headers: { ...withBasic(READER), "content-type": "application/json" },
      status: 400,
      error: "invalid_request",
      challenge: false,
    },
    {
      name: "a malformed percent-encoding",
      body: "grant_type=client_credentials&scope=%ZZ",
      headers: withBasic(READER),
      status: 400,
      error: "invalid_request",
      challenge: false,
    },
    {
      name: "a repeated parameter",
      body: "grant_type=client_credentials&grant_type=client_credentials",
      headers: withBasic(READER),
      status: 400,
      error: "invalid_request",
      challenge: false,
    },
  ];

  it.each(cases)("answers $status $error for $name", async (c) => {
    const issuer = await start();
    const { response, json } = await postToken(issuer, c.body, c.headers);

    expect(response.status).toBe(c.status);
    expect(json.error).toBe(c.error);
    expect(typeof json.error_description).toBe("string");
    expect(json).not.toHaveProperty("access_token");
    expect(response.headers.get("cache-control")).toBe("no-store");
    if (c.challenge) expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
    else expect(response.headers.get("www-authenticate")).toBeNull();
    expect(JSON.stringify(json)).not.toContain("reader-secret");
  });

  it("answers 405 with Allow for a wrong method and 404 for an unknown path", async () => {
    const issuer = await start();

    const get = await fetch(issuer.tokenUrl);
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");

    const postJwks = await fetch(issuer.jwksUri, { method: "POST" });
    expect(postJwks.status).toBe(405);
    expect(postJwks.headers.get("allow")).toBe("GET, HEAD");

    const missing = await fetch(new URL("/oauth2/authorize", issuer.tokenUrl));
    expect(missing.status).toBe(404);
  });

  it("refuses duplicate client ids and a bad token lifetime", async () => {
    await expect(
      startLocalIssuer({ userPoolId: POOL, clients: [READER, { ...READER, scopes: [] }] }),
    ).rejects.toThrow(/listed twice/);
    await expect(
      startLocalIssuer({ userPoolId: POOL, clients: [READER], tokenLifetimeSeconds: 0 }),
    ).rejects.toThrow(/tokenLifetimeSeconds/);
  });
});

describe("startLocalIssuer: JWKS", () => {
  it("serves the JWKS at the root and under the pool id", async () => {
    const issuer = await start();
    const root = await fetch(issuer.jwksUri);
    const underPool = await fetch(new URL(`/${POOL}/.well-known/jwks.json`, issuer.jwksUri));

    expect(root.status).toBe(200);
    expect(await root.json()).toEqual(issuer.jwks);
    expect(await underPool.json()).toEqual(issuer.jwks);
    expect(issuer.jwks.keys[0]).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
  });

  it("lets the verifier fetch the keys once over loopback and reuse them", async () => {
    const issuer = await start();
    const verifier = verifierFor(issuer);
    expect(issuer.jwksFetchCount).toBe(0);

    const first = issuer.mintAccessToken({ clientId: "reader", scopes: ["orders/read"] });
    expect((await verifier.verify(first)).client_id).toBe("reader");
    expect(issuer.jwksFetchCount).toBe(1);

    const { json } = await postToken(issuer, "grant_type=client_credentials", withBasic(WRITER));
    expect((await verifier.verify(json.access_token as string)).client_id).toBe("writer");
    expect(issuer.jwksFetchCount).toBe(1);
  });

  it("fetches again for an unknown kid and reports KidNotFoundInJwksError", async () => {
    const issuer = await start();
    const token = issuer.mintAccessToken({ clientId: "x", scopes: [], header: { kid: "gone" } });

    await expect(verifierFor(issuer).verify(token)).rejects.toBeInstanceOf(KidNotFoundInJwksError);
    expect(issuer.jwksFetchCount).toBe(1);
  });

  it("fails with a retryable FetchError while stopped and recovers on the same port", async () => {
    const issuer = await start();
    const port = issuer.port;
    const verifier = verifierFor(issuer);
    const token = issuer.mintAccessToken({ clientId: "reader", scopes: ["orders/read"] });

    await issuer.stop();
    const failure = await verifier.verify(token).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FetchError);
    expect(failure).not.toBeInstanceOf(NonRetryableFetchError);
    expect(issuer.jwksFetchCount).toBe(1);
    await expect(fetch(issuer.tokenUrl, { method: "POST" })).rejects.toThrow();

    await issuer.start();
    expect(issuer.port).toBe(port);
    expect((await verifier.verify(token)).client_id).toBe("reader");
    expect(issuer.jwksFetchCount).toBe(2);
  });

  it("cannot be started again once closed", async () => {
    const issuer = await start();
    await issuer.close();
    await issuer.close();
    await expect(issuer.start()).rejects.toThrow(/closed/);
  });

  it("refuses to fetch any URI but the pool's JWKS URIs", async () => {
    const issuer = await start();
    const fetcher = issuer.verifierOptions.jwksCache.fetcher;

    await expect(fetcher.fetch("https://example.com/.well-known/jwks.json")).rejects.toBeInstanceOf(
      NonRetryableFetchError,
    );
    const globalIssuer = `https://issuer-cognito-idp.us-east-2.amazonaws.com/${POOL}`;
    const globalUri = `${globalIssuer}/.well-known/jwks.json`;
    const body = await fetcher.fetch(globalUri);
    expect(JSON.parse(Buffer.from(body).toString("utf8"))).toEqual(issuer.jwks);
    expect(issuer.jwksFetchCount).toBe(1);
  });
});

describe("LoopbackJwksFetcher", () => {
  async function statusServer(status: number): Promise<{ url: string; server: Server }> {
    const server = createServer((_req, res) => res.writeHead(status).end("{}"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
  }

  it("throws NonRetryableFetchError for 4xx and a retryable FetchError for 5xx", async () => {
    const notFound = await statusServer(404);
    const broken = await statusServer(503);
    const fetcher = new LoopbackJwksFetcher(
      new Map([
        ["https://a/jwks.json", notFound.url],
        ["https://b/jwks.json", broken.url],
      ]),
    );

    await expect(fetcher.fetch("https://a/jwks.json")).rejects.toBeInstanceOf(
      NonRetryableFetchError,
    );
    const error = await fetcher.fetch("https://b/jwks.json").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchError);
    expect(error).not.toBeInstanceOf(NonRetryableFetchError);
    expect(String(error)).toMatch(/HTTP 503/);
    expect(fetcher.attempts).toBe(2);
  });
});
