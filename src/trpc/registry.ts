import type { Policy } from "./policy.js";

/** Marks an instance with the token its builders are registered under. */
export const OWNER: unique symbol = Symbol("trpc-cognito-m2m.owner");

const policies = new WeakMap<object, { policy: Policy; owner: object }>();

/** Remembers which policy a builder's middleware enforces, and for which instance. */
export function registerPolicy(middleware: object, policy: Policy, owner: object): void {
  policies.set(middleware, { policy, owner });
}

/** The policy a middleware enforces, if it is a builder's (of `instance`, when given). */
export function policyOf(middleware: object, instance?: object): Policy | undefined {
  const entry = policies.get(middleware);
  if (entry === undefined) return undefined;
  if (instance !== undefined && (instance as { [OWNER]?: object })[OWNER] !== entry.owner) {
    return undefined;
  }
  return entry.policy;
}
