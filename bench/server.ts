/**
 * Child process: builds one benchmark server (kind and issuer in `BENCH_CONFIG`), listens on
 * a free loopback port and tells the parent which. Answers `cpu` requests with its CPU time
 * so far; exits when the parent closes the IPC channel.
 */
import type { AddressInfo } from "node:net";

import { createBenchServer } from "./servers.js";
import { sendToParent } from "./shared.js";
import type { CpuReading, ServerConfig, ServerReady } from "./shared.js";

const config = JSON.parse(process.env.BENCH_CONFIG ?? "null") as ServerConfig | null;
if (config === null) throw new Error("BENCH_CONFIG is not set.");

const server = await createBenchServer(config);
server.keepAliveTimeout = 30_000;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));

const ready: ServerReady = { type: "ready", port: (server.address() as AddressInfo).port };
await sendToParent(ready);
process.on("message", (message: { type?: unknown }) => {
  if (message.type !== "cpu") return;
  const { user, system } = process.cpuUsage();
  const reading: CpuReading = { type: "cpu", microseconds: user + system };
  void sendToParent(reading);
});
process.on("disconnect", () => process.exit(0));
