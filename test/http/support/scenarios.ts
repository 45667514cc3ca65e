import type { CognitoErrorData } from "../../../src/index.js";
import type { LocalIssuer, TestIssuer } from "../../../src/testing/index.js";

/** The issuers scenarios mint their tokens with. */
export interface Issuers {
  /** The pool the main app trusts. */
  main: TestIssuer;
  /** Same pool id, other key: its signatures do not verify. */
  foreign: TestIssuer;
  /** A stopped local issuer: the offline app cannot fetch its JWKS. */
  offline: LocalIssuer;
}

/** What a scenario expects, whatever the adapter. */
export interface Expectation {
  /** HTTP status (not checked over websockets). */
  status: number;
  /** The resolved value, for a call that succeeds. */
  result?: unknown;
  /** The tRPC error code, for a call that fails. */
  trpcCode?: string;
  /** `error.data.cognito`; `retryAfterSeconds` is checked against `Retry-After`. */
  cognito?: Omit<CognitoErrorData, "retryAfterSeconds">;
  /** The exact `WWW-Authenticate` header, or `null` for none. */
  wwwAuthenticate: string | null;
  /** Whether a `Retry-After` header (whole seconds) is expected. */
  retryAfter: boolean;
}

/** One row of the table every adapter runs. */
export interface Scenario {
  name: string;
  /** Which app serves it: `offline` cannot reach its JWKS. */
  app: "main" | "offline";
  call: "whoami" | "write";
  /** The credential, minted fresh for each run; `undefined` sends none. */
  authorization(issuers: Issuers): string | undefined;
  expected: Expectation;
}

const bearer = (token: string) => `Bearer ${token}`;

/** Missing token, bad credentials, authorization failures, JWKS outage and success. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "missing token",
    app: "main",
    call: "whoami",
    authorization: () => undefined,
    expected: {
      status: 401,
      trpcCode: "UNAUTHORIZED",
      cognito: { code: "missing_token" },
      wwwAuthenticate: 'Bearer realm="api"',
      retryAfter: false,
    },
  },
  {
    name: "malformed Authorization header",
    app: "main",
    call: "whoami",
    authorization: () => "Bearer two parts",
    expected: {
      status: 401,
      trpcCode: "UNAUTHORIZED",
      cognito: { code: "malformed_authorization_header" },
      wwwAuthenticate:
        'Bearer realm="api", error="invalid_token", error_description="The Authorization header is malformed"',
      retryAfter: false,
    },
  },
  {
    name: "bad signature",
    app: "main",
    call: "whoami",
    authorization: ({ main, foreign }) =>
      bearer(
        foreign.mintAccessToken({ clientId: "reader", scopes: [], header: { kid: main.kid } }),
      ),
    expected: {
      status: 401,
      trpcCode: "UNAUTHORIZED",
      cognito: { code: "invalid_token" },
      wwwAuthenticate:
        'Bearer realm="api", error="invalid_token", error_description="The access token is malformed or invalid"',
      retryAfter: false,
    },
  },
  {
    name: "expired token",
    app: "main",
    call: "whoami",
    authorization: ({ main }) =>
      bearer(main.mintAccessToken({ clientId: "reader", scopes: [], expiresInSeconds: -60 })),
    expected: {
      status: 401,
      trpcCode: "UNAUTHORIZED",
      cognito: { code: "expired_token" },
      wwwAuthenticate:
        'Bearer realm="api", error="invalid_token", error_description="The access token expired"',
      retryAfter: false,
    },
  },
  {
    name: "client outside allowedClientIds",
    app: "main",
    call: "whoami",
    authorization: ({ main }) => bearer(main.mintAccessToken({ clientId: "stranger", scopes: [] })),
    expected: {
      status: 403,
      trpcCode: "FORBIDDEN",
      cognito: { code: "client_not_allowed" },
      wwwAuthenticate:
        'Bearer realm="api", error="insufficient_scope", error_description="The client is not allowed to call this API"',
      retryAfter: false,
    },
  },
  {
    name: "missing scope",
    app: "main",
    call: "write",
    authorization: ({ main }) =>
      bearer(main.mintAccessToken({ clientId: "reader", scopes: ["widgets/read"] })),
    expected: {
      status: 403,
      trpcCode: "FORBIDDEN",
      cognito: {
        code: "insufficient_scope",
        requiredScopes: ["widgets/read", "widgets/write"],
        match: "all",
      },
      wwwAuthenticate:
        'Bearer realm="api", error="insufficient_scope", scope="widgets/read widgets/write"',
      retryAfter: false,
    },
  },
  {
    name: "JWKS unreachable",
    app: "offline",
    call: "whoami",
    authorization: ({ offline }) =>
      bearer(offline.mintAccessToken({ clientId: "reader", scopes: [] })),
    expected: {
      status: 503,
      trpcCode: "SERVICE_UNAVAILABLE",
      cognito: { code: "jwks_unavailable" },
      wwwAuthenticate: null,
      retryAfter: true,
    },
  },
  {
    name: "valid token",
    app: "main",
    call: "whoami",
    authorization: ({ main }) => bearer(main.mintAccessToken({ clientId: "reader", scopes: [] })),
    expected: { status: 200, result: "reader", wwwAuthenticate: null, retryAfter: false },
  },
];

/** A batch of one public and one protected call, answered 207 with the challenge. */
export interface BatchScenario {
  name: string;
  /** The protected procedure batched with the public `health`. */
  call: "whoami" | "admin";
  authorization(issuers: Issuers): string | undefined;
  /** The protected call's tRPC code. */
  trpcCode: string;
  wwwAuthenticate: string;
}

/** Batches whose calls end differently: tRPC answers 207 and the header is still set. */
export const BATCH_SCENARIOS: readonly BatchScenario[] = [
  {
    name: "no token: public call served, protected call 401",
    call: "whoami",
    authorization: () => undefined,
    trpcCode: "UNAUTHORIZED",
    wwwAuthenticate: 'Bearer realm="api"',
  },
  {
    name: "valid token: public call served, protected call 403",
    call: "admin",
    authorization: ({ main }) =>
      bearer(main.mintAccessToken({ clientId: "reader", scopes: ["widgets/read"] })),
    trpcCode: "FORBIDDEN",
    wwwAuthenticate: 'Bearer realm="api", error="insufficient_scope", scope="widgets/admin"',
  },
];
