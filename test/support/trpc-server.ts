import type { AddressInfo } from "node:net";

import type { AnyTRPCRouter } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";

/** A tRPC standalone server on a random loopback port. */
export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `router` with the standalone adapter on 127.0.0.1. */
export async function serveStandalone(
  router: AnyTRPCRouter,
  createContext: (opts: any) => unknown,
  extra: Record<string, unknown> = {},
): Promise<RunningServer> {
  const server = createHTTPServer({ router, createContext, ...extra } as any);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A logger that keeps every line it is given, for assertions. */
export function captureLogger() {
  const lines: { level: string; details: object; message: string }[] = [];
  const at = (level: string) => (details: object, message: string) => {
    lines.push({ level, details, message });
  };
  return {
    lines,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.details)}`).join("\n"),
  };
}
