import { createHmac, createPublicKey } from "node:crypto";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { CognitoM2MError, createCognitoM2M, InvalidTokenError } from "../../src/index.js";
import {
  createTestIssuer,
  startLocalIssuer,
  type LocalIssuer,
  type MintAccessTokenOptions,
} from "../../src/testing/index.js";
import {
  cognitoCode,
  createHardenedApp,
  send,
  serveHardened,
  type HardenedApp,
  type HardenedServer,
  type RawResponse,
} from "./support/app.js";

const POOL = "eu-west-1_Attack1";

let issuer: LocalIssuer;
let app: HardenedApp;
let server: HardenedServer;
/** Every response of this file, to check for 5xx and leaked tokens at the end. */
const responses: RawResponse[] = [];
/** Every token an attack presented. */
const presented: string[] = [];

beforeAll(async () => {
  issuer = await startLocalIssuer({ userPoolId: POOL, clients: [] });
  app = createHardenedApp({ userPoolId: POOL, verifierOptions: issuer.verifierOptions });
  server = await serveHardened(app);
});

afterAll(async () => {
  await server.close();
  await issuer.close();
});

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
const segments = (token: string) => token.split(".") as [string, string, string];
const decode = (segment: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));

function mint(options: Partial<MintAccessTokenOptions> = {}): string {
  return issuer.mintAccessToken({ clientId: "reader", scopes: ["widgets/read"], ...options });
}

/** A token with the claims of a valid one, re-signed as HS256 with `secret` as the HMAC key. */
function hmacForgery(secret: Buffer | string, alg = "HS256"): string {
  const [header, payload] = segments(mint());
  const forgedHeader = b64({ ...decode(header), alg });
  const input = `${forgedHeader}.${payload}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

/** The public key of the issuer in the forms an algorithm-confusion attacker would try. */
function publicKeyForms(): Record<string, Buffer | string> {
  const jwk = issuer.jwks.keys[0]!;
  const key = createPublicKey({ key: jwk as never, format: "jwk" });
  return {
    "PEM (spki)": key.export({ type: "spki", format: "pem" }),
    "PEM (pkcs1)": key.export({ type: "pkcs1", format: "pem" }),
    "DER (spki)": key.export({ type: "spki", format: "der" }),
    "JWK JSON": JSON.stringify(jwk),
  };
}

async function call(headers: Record<string, string | string[]>, path = "whoami") {
  const response = await send(server.url, path, headers);
  responses.push(response);
  return response;
}

async function attack(token: string, path = "whoami") {
  presented.push(token);
  return call({ authorization: `Bearer ${token}` }, path);
}

function expectRefusal(response: RawResponse, status: number, code: string): void {
  expect({ status: response.status, code: cognitoCode(response.json) }).toEqual({ status, code });
  expect(response.headers["www-authenticate"]).toMatch(/^Bearer realm="api"/);
}

describe("hostile tokens through a real standalone server", () => {
  it("refuses alg none with an empty signature, and with a signature left on", async () => {
    expectRefusal(await attack(mint({ header: { alg: "none" } })), 401, "invalid_token");
    for (const alg of ["none", "None", "NONE"]) {
      const [, payload, signature] = segments(mint());
      const unsigned = `${b64({ alg, kid: issuer.jwks.keys[0]!.kid })}.${payload}`;
      expectRefusal(await attack(`${unsigned}.`), 401, "invalid_token");
      expectRefusal(await attack(`${unsigned}.${signature}`), 401, "invalid_token");
    }
  });

  it("refuses HS256 signed with the RSA public key as the HMAC secret (algorithm confusion)", async () => {
    for (const [form, secret] of Object.entries(publicKeyForms())) {
      for (const alg of ["HS256", "hs256", "RS256"]) {
        const response = await attack(hmacForgery(secret, alg));
        expect({ form, alg, status: response.status }).toEqual({ form, alg, status: 401 });
        expect(cognitoCode(response.json)).toBe("invalid_token");
      }
    }
  });

  it("refuses a token of a foreign issuer: another pool, and this pool's iss under another key", async () => {
    const other = createTestIssuer({ userPoolId: "eu-west-1_Foreign1" });
    const foreign = other.mintAccessToken({ clientId: "reader", scopes: ["widgets/read"] });
    expectRefusal(await attack(foreign), 401, "invalid_token");

    const impostor = createTestIssuer({ userPoolId: POOL });
    const samePool = impostor.mintAccessToken({ clientId: "reader", scopes: ["widgets/read"] });
    expectRefusal(await attack(samePool), 401, "invalid_token");

    const wrongIss = mint({ claims: { iss: "https://cognito-idp.eu-west-1.amazonaws.com/x_y" } });
    expectRefusal(await attack(wrongIss), 401, "invalid_token");
    const noIss = mint({ claims: { iss: undefined } });
    expectRefusal(await attack(noIss), 401, "invalid_token");
  });

  it("refuses an ID token", async () => {
    const id = mint({ claims: { token_use: "id", aud: "reader", "cognito:username": "x" } });
    expectRefusal(await attack(id), 401, "invalid_token");
    expectRefusal(await attack(mint({ claims: { token_use: undefined } })), 401, "invalid_token");
  });

  it("refuses an expired token with expired_token and a not-yet-valid one with invalid_token", async () => {
    expectRefusal(await attack(mint({ expiresInSeconds: -60 })), 401, "expired_token");
    const nbf = Math.floor(Date.now() / 1000) + 3600;
    expectRefusal(await attack(mint({ claims: { nbf } })), 401, "invalid_token");
  });

  it("refuses a missing, empty or non-string client_id and a non-string scope", async () => {
    for (const clientId of [undefined, "", 42, ["reader"], { id: "reader" }, null, true]) {
      const response = await attack(mint({ claims: { client_id: clientId } }));
      expect({ clientId, status: response.status }).toEqual({ clientId, status: 401 });
      expect(cognitoCode(response.json)).toBe("invalid_token");
    }
    for (const scope of [["widgets/read"], 7, { read: true }, null, false]) {
      const response = await attack(mint({ claims: { scope } }));
      expect({ scope, status: response.status }).toEqual({ scope, status: 401 });
      expect(cognitoCode(response.json)).toBe("invalid_token");
    }
  });

  it("refuses an unknown kid with 401 invalid_token while the issuer's JWKS is up", async () => {
    expectRefusal(
      await attack(mint({ header: { kid: "rotated-away-key" } })),
      401,
      "invalid_token",
    );
    expectRefusal(await attack(mint({ header: { kid: undefined } })), 401, "invalid_token");
    expectRefusal(await attack(mint({ header: { kid: 42 } })), 401, "invalid_token");
  });

  it("refuses kids with path or SQL characters without touching anything but the key set", async () => {
    const fetchesBefore = issuer.jwksFetchCount;
    for (const kid of [
      "../../etc/passwd",
      "..%2F..%2Fetc%2Fpasswd",
      "' OR 1=1 --",
      '"; DROP TABLE users; --',
      "\u0000",
      "__proto__",
      "constructor",
      "http://169.254.169.254/latest/meta-data/",
    ]) {
      const response = await attack(mint({ header: { kid } }));
      expect({ kid, status: response.status }).toEqual({ kid, status: 401 });
      expect(cognitoCode(response.json)).toBe("invalid_token");
    }
    // aws-jwt-verify's penalty box: at most one JWKS fetch for all these unknown kids.
    expect(issuer.jwksFetchCount - fetchesBefore).toBeLessThanOrEqual(1);
  });

  it("refuses a 16 KB Authorization header cleanly (431 from Node, or 401)", async () => {
    const token = "a".repeat(16 * 1024);
    const response = await attack(token);
    expect([401, 431]).toContain(response.status);
    if (response.status === 401) expect(cognitoCode(response.json)).toBe("invalid_token");
  });

  it("refuses a 1 MB token: Node refuses the header, authenticate refuses the token", async () => {
    const huge = `${mint()}${"A".repeat(1024 * 1024)}`;
    const status = await fetch(`${server.url}/whoami`, {
      headers: { authorization: `Bearer ${huge}` },
    }).then(
      (response) => response.status,
      (error: unknown) => ({ networkError: String(error) }),
    );
    // Node answers 431 and closes; a client still writing may see the reset instead.
    if (typeof status === "number") expect(status).toBe(431);
    else expect(status.networkError).toMatch(/fetch failed|other side closed|ECONNRESET|EPIPE/);

    await expect(app.m2m.authenticate({ authorization: `Bearer ${huge}` })).rejects.toBeInstanceOf(
      InvalidTokenError,
    );
  });

  it("refuses an oversized token by its own limit when the server allows huge headers", async () => {
    const big = await serveHardened(app, { maxHeaderSize: 4 * 1024 * 1024 });
    try {
      for (const size of [16 * 1024 + 1, 1024 * 1024]) {
        const token = `${mint()}${"A".repeat(size)}`;
        presented.push(token);
        const response = await send(big.url, "whoami", { authorization: `Bearer ${token}` });
        responses.push(response);
        expectRefusal(response, 401, "invalid_token");
      }
    } finally {
      await big.close();
    }
  });

  it("refuses duplicate Authorization headers as malformed, even when both are valid", async () => {
    const reader = mint();
    const writer = mint({ clientId: "writer", scopes: [] });
    presented.push(reader, writer);
    for (const pair of [
      [`Bearer ${reader}`, `Bearer ${writer}`],
      [`Bearer ${reader}`, `Bearer ${reader}`],
      [`Bearer ${reader}`, "Basic dXNlcjpwYXNz"],
    ]) {
      expectRefusal(await call({ authorization: pair }), 401, "malformed_authorization_header");
      expectRefusal(
        await call({ authorization: pair }, "health"),
        401,
        "malformed_authorization_header",
      );
    }
  });

  it("refuses malformed bearer headers", async () => {
    for (const authorization of [
      "Bearer",
      "Bearer ",
      "Bearer a b",
      `Bearer ${mint()} extra`,
      "Bearer \u00e9t\u00e9",
      "",
    ]) {
      const response = await call({ authorization });
      expect({ authorization, status: response.status }).toEqual({ authorization, status: 401 });
      expect(cognitoCode(response.json)).toBe("malformed_authorization_header");
    }
  });

  it("answers 403 client_not_allowed, not 401, for a valid token of a disallowed client", async () => {
    const outsider = mint({ clientId: "stranger" });
    const response = await attack(outsider);
    expectRefusal(response, 403, "client_not_allowed");
    expect(response.headers["www-authenticate"]).toContain('error="insufficient_scope"');
    expectRefusal(await attack(outsider, "health"), 403, "client_not_allowed");
  });

  it("answers 401 missing_token without credentials and 403 insufficient_scope on a scope miss", async () => {
    expectRefusal(await call({}), 401, "missing_token");
    expect((await call({}, "health")).status).toBe(200);
    expectRefusal(await attack(mint({ scopes: [] }), "read"), 403, "insufficient_scope");
  });
});

describe("edge cases found by fuzzing and review", () => {
  const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

  /** The token with the unused low bits of its signature's last character set differently. */
  function reencodedSignature(token: string): string {
    const [header, payload, signature] = segments(token);
    const last = B64URL.indexOf(signature.at(-1)!);
    return `${header}.${payload}.${signature.slice(0, -1)}${B64URL[last ^ 1]}`;
  }

  it("a re-encoded signature decodes to the same bytes (the premise of the next test)", () => {
    const token = mint();
    const variant = reencodedSignature(token);
    expect(variant).not.toBe(token);
    expect(Buffer.from(segments(variant)[2], "base64url")).toEqual(
      Buffer.from(segments(token)[2], "base64url"),
    );
  });

  // A signature whose last character carries non-zero padding bits decodes to the same bytes;
  // the pre-check accepts only the canonical spelling, so one token has one string.
  it("refuses a valid token whose signature is spelt non-canonically", async () => {
    expectRefusal(await attack(reencodedSignature(mint())), 401, "invalid_token");
  });

  // The debug line carries what aws-jwt-verify said, not the library's own client message.
  it("logs the verifier's own reason at debug", async () => {
    const from = app.log.lines.length;
    await attack(mint({ expiresInSeconds: -60 }));
    const line = app.log.lines.slice(from).find((l) => l.message === "Token verification failed");
    expect(line?.details).toMatchObject({ reason: expect.stringMatching(/JwtExpiredError/) });
  });
});

describe("after every attack", () => {
  it("never answered 5xx, and still serves a valid call", async () => {
    expect(responses.length).toBeGreaterThan(50);
    expect(responses.filter((r) => r.status >= 500).map((r) => r.text)).toEqual([]);

    const valid = await attack(mint());
    expect(valid.status).toBe(200);
    expect(valid.json.result.data).toBe("reader");
  });

  it("never put a presented token, or its signature, in a response body or a log line", () => {
    const texts = [...responses.map((r) => r.text), app.log.text()];
    for (const token of presented) {
      const signature = token.split(".")[2] ?? "";
      for (const text of texts) {
        expect(text.includes(token.slice(0, 4096))).toBe(false);
        if (signature.length >= 16) expect(text.includes(signature)).toBe(false);
      }
    }
  });
});

describe("m2m.authenticate with hostile header sources", () => {
  const m2m = createCognitoM2M({ userPoolId: POOL });

  it("rejects with library errors for header values of the wrong type", async () => {
    for (const value of [["Bearer a", "Bearer b"], 42, true, {}, ["Bearer a.b.c"]]) {
      const outcome = await m2m.authenticate({ authorization: value }).then(
        (principal) => ({ principal }),
        (error: unknown) => ({ error }),
      );
      if ("error" in outcome) expect(outcome.error).toBeInstanceOf(CognitoM2MError);
      else expect(outcome.principal).toBeNull();
    }
  });

  // A header value that is neither text nor a number is a malformed credential, not a crash.
  it("rejects a header value without a string conversion with a library error", async () => {
    for (const value of [Object.create(null), [Object.create(null)], { toString: 1 }]) {
      await expect(m2m.authenticate({ authorization: value })).rejects.toBeInstanceOf(
        CognitoM2MError,
      );
    }
  });
});
