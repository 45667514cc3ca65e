import { isIP } from "node:net";

import { UsageError } from "./io.js";

/**
 * Parses the value of `flag` as an endpoint URL. HTTPS is accepted for any host; plain HTTP
 * only for loopback hosts (`localhost`, `127.0.0.0/8`, `::1`), where nothing crosses a network.
 */
export function parseEndpointUrl(flag: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag} must be an absolute URL.`);
  }

  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isLoopbackHost(url.hostname)) return url;
  if (url.protocol === "http:") {
    throw new UsageError(`${flag} must use https (plain http is allowed for loopback hosts only).`);
  }
  throw new UsageError(`${flag} must be an https URL.`);
}

/** Whether `hostname` (as `URL.hostname` spells it) names this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.startsWith("[") ? hostname.slice(1, -1) : hostname;
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
