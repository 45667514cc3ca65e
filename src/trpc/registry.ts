import type { Policy } from "./policy.js";

const policies = new WeakMap<object, Policy>();

/** Remembers which policy a builder's middleware enforces. */
export function registerPolicy(middleware: object, policy: Policy): void {
  policies.set(middleware, policy);
}

/** The policy a middleware enforces, if it is one of this library's. */
export function policyOf(middleware: object): Policy | undefined {
  return policies.get(middleware);
}
