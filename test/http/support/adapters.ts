import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpLink,
  wsLink,
  type TRPCClient,
  type TRPCLink,
} from "@trpc/client";
import { awsLambdaRequestHandler } from "@trpc/server/adapters/aws-lambda";
import { createExpressMiddleware } from "@trpc/server/adapters/express";
import { fastifyTRPCPlugin } from "@trpc/server/adapters/fastify";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { applyWSSHandler } from "@trpc/server/adapters/ws";
import express from "express";
import Fastify from "fastify";
import { WebSocket, WebSocketServer } from "ws";

import type { TestApp, TestRouter } from "./app.js";

/** The status, headers and body of one HTTP response the client received. */
export interface RecordedResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** A typed client of a served app, with what it saw on the wire. */
export interface TestClient {
  trpc: TRPCClient<TestRouter>;
  /** Every HTTP response, in order; always empty over websockets. */
  responses: RecordedResponse[];
  dispose(): Promise<void>;
}

/** How a test reaches a served app. */
export interface ClientOptions {
  /** The credential: an `Authorization` value, or websocket connection params. */
  authorization?: string;
  /** Websockets only: send `{ token }` instead of `{ authorization }`. */
  tokenParam?: string;
  /** HTTP only: batch the calls made in one tick (`httpBatchLink`). */
  batch?: boolean;
}

/** One app served by one adapter. */
export interface Served {
  client(options: ClientOptions): TestClient;
  /** How many transport connections the server accepted (websockets only). */
  connections(): number;
  close(): Promise<void>;
}

/** A tRPC adapter under test. */
export interface Adapter {
  name: string;
  /** `false` for websockets: no status, no headers. */
  http: boolean;
  serve(app: TestApp): Promise<Served>;
}

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A client over HTTP to `url`, through `fetchImpl` (default: the real global fetch). */
function httpClient(url: string, options: ClientOptions, fetchImpl: Fetch = fetch): TestClient {
  const responses: RecordedResponse[] = [];
  const recording: Fetch = async (input, init) => {
    const res = await fetchImpl(input, init);
    const body = await res.clone().text();
    responses.push({ status: res.status, headers: res.headers, body });
    return res;
  };
  const headers =
    options.authorization === undefined ? {} : { authorization: options.authorization };
  const makeLink = options.batch === true ? httpBatchLink : httpLink;
  const link: TRPCLink<TestRouter> = makeLink({ url, headers, fetch: recording });
  return {
    trpc: createTRPCClient<TestRouter>({ links: [link] }),
    responses,
    dispose: () => Promise.resolve(),
  };
}

/** Serves an HTTP handler from a plain Node server on a random loopback port. */
async function listen(server: Server): Promise<{ origin: string; close(): Promise<void> }> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function httpServed(url: string, close: () => Promise<void>, fetchImpl?: Fetch): Served {
  return { client: (o) => httpClient(url, o, fetchImpl), connections: () => 0, close };
}

const standalone: Adapter = {
  name: "standalone",
  http: true,
  async serve({ router, m2m, onError }) {
    const server = createHTTPServer({
      router,
      createContext: m2m.createContext,
      responseMeta: m2m.responseMeta,
      onError,
    });
    const { origin, close } = await listen(server);
    return httpServed(origin, close);
  },
};

/** Reads a Node request into a Fetch `Request`. */
async function toFetchRequest(req: IncomingMessage): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : [value])
      if (v !== undefined) headers.append(name, v);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, {
    method: req.method,
    headers,
    body: hasBody ? Buffer.concat(chunks) : undefined,
  });
}

/** Writes a Fetch `Response` to a Node response. */
async function writeFetchResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = name === "set-cookie" ? response.headers.getSetCookie() : value;
  });
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

const fetchAdapter: Adapter = {
  name: "fetch",
  http: true,
  async serve({ router, m2m, onError }) {
    const server = createServer((req, res) => {
      void (async () => {
        const response = await fetchRequestHandler({
          endpoint: "/trpc",
          req: await toFetchRequest(req),
          router,
          createContext: m2m.createContext,
          responseMeta: m2m.responseMeta,
          onError,
        });
        await writeFetchResponse(response, res);
      })().catch(() => res.destroy());
    });
    const { origin, close } = await listen(server);
    return httpServed(`${origin}/trpc`, close);
  },
};

const expressAdapter: Adapter = {
  name: "express",
  http: true,
  async serve({ router, m2m, onError }) {
    const app = express();
    app.use(
      "/trpc",
      createExpressMiddleware({
        router,
        createContext: m2m.createContext,
        responseMeta: m2m.responseMeta,
        onError,
      }),
    );
    const { origin, close } = await listen(createServer(app));
    return httpServed(`${origin}/trpc`, close);
  },
};

const fastifyAdapter: Adapter = {
  name: "fastify",
  http: true,
  async serve({ router, m2m, onError }) {
    const app = Fastify();
    await app.register(fastifyTRPCPlugin, {
      prefix: "/trpc",
      trpcOptions: {
        router,
        createContext: m2m.createContext,
        responseMeta: m2m.responseMeta,
        onError,
      },
    });
    const origin = await app.listen({ port: 0, host: "127.0.0.1" });
    return httpServed(`${origin}/trpc`, () => app.close());
  },
};

/** Header names as a client would send them: `Authorization`, `Content-Type`. */
function capitalised(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase())] =
      value;
  });
  return out;
}

type LambdaResult = { statusCode: number; headers?: Record<string, unknown>; body?: string };

/** An API Gateway event for a request to `/trpc/{proxy+}`, in payload format 1.0 or 2.0. */
async function toLambdaEvent(request: Request, version: "1.0" | "2.0"): Promise<object> {
  const url = new URL(request.url);
  const proxy = url.pathname.replace(/^\/trpc\//, "");
  const headers = capitalised(request.headers);
  const body = request.method === "GET" ? null : await request.text();
  const domainName = url.host;

  if (version === "2.0") {
    return {
      version: "2.0",
      routeKey: "ANY /trpc/{proxy+}",
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      pathParameters: { proxy },
      requestContext: { domainName, http: { method: request.method, path: url.pathname } },
      body: body ?? undefined,
      isBase64Encoded: false,
    };
  }
  const query = Object.fromEntries(url.searchParams);
  return {
    httpMethod: request.method,
    path: url.pathname,
    resource: "/trpc/{proxy+}",
    pathParameters: { proxy },
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    requestContext: { domainName, httpMethod: request.method },
    body,
    isBase64Encoded: false,
  };
}

/** aws-lambda, invoked directly: the client's fetch turns each request into an event. */
function lambdaAdapter(version: "1.0" | "2.0"): Adapter {
  return {
    name: `aws-lambda (API Gateway v${version === "1.0" ? 1 : 2})`,
    http: true,
    serve({ router, m2m, onError }) {
      const handler = awsLambdaRequestHandler({
        router,
        createContext: m2m.createContext,
        responseMeta: m2m.responseMeta,
        onError,
      }) as unknown as (event: object, context: object) => Promise<LambdaResult>;
      const invoke: Fetch = async (input, init) => {
        const event = await toLambdaEvent(new Request(input, init), version);
        const result = await handler(event, {});
        const headers = new Headers();
        for (const [k, v] of Object.entries(result.headers ?? {})) headers.set(k, String(v));
        return new Response(result.body ?? null, { status: result.statusCode, headers });
      };
      return Promise.resolve(
        httpServed("https://lambda.test/trpc", () => Promise.resolve(), invoke),
      );
    },
  };
}

const websockets: Adapter = {
  name: "websockets",
  http: false,
  async serve({ router, m2m, onError }) {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await once(wss, "listening");
    let connections = 0;
    wss.on("connection", () => (connections += 1));
    applyWSSHandler({ wss, router, createContext: m2m.createContext, onError });
    const { port } = wss.address() as AddressInfo;

    const client = (options: ClientOptions): TestClient => {
      const params =
        options.tokenParam !== undefined
          ? { token: options.tokenParam }
          : options.authorization !== undefined
            ? { authorization: options.authorization }
            : {};
      const wsClient = createWSClient({
        url: `ws://127.0.0.1:${port}`,
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        connectionParams: params,
        retryDelayMs: () => 60_000,
      });
      return {
        trpc: createTRPCClient<TestRouter>({ links: [wsLink({ client: wsClient })] }),
        responses: [],
        dispose: () => wsClient.close(),
      };
    };

    const close = async () => {
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve, reject) =>
        wss.close((error) => (error ? reject(error) : resolve())),
      );
    };
    return { client, connections: () => connections, close };
  },
};

/** Every adapter the scenario table runs against. */
export const ADAPTERS: readonly Adapter[] = [
  standalone,
  fetchAdapter,
  expressAdapter,
  fastifyAdapter,
  lambdaAdapter("1.0"),
  lambdaAdapter("2.0"),
  websockets,
];

/** The adapter for websocket-only tests. */
export const WEBSOCKETS = websockets;
