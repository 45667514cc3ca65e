import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { checkProperty, createFuzzHarness, planRuns, type FuzzHarness } from "./properties.js";

/** The `npm test` share of the fuzzing; `npm run fuzz` runs the same properties 50× longer. */
const TOTAL_CASES = 2_000;

let harness: FuzzHarness;

beforeAll(async () => {
  harness = await createFuzzHarness();
});

afterAll(async () => {
  await harness.close();
});

describe(`fuzz properties (${TOTAL_CASES} cases)`, () => {
  for (const [property, runs] of planRuns(TOTAL_CASES)) {
    it(`${property.name} [${runs} cases]`, async () => {
      const details = await checkProperty(property, harness, runs);
      if (details.failed) throw new Error(fc.defaultReportMessage(details));

      // Not vacuous: every case was checked, some were refused, and some got a principal.
      const stats = harness.stats.get(property.name);
      expect(stats?.cases).toBe(runs);
      expect(Object.keys(stats!.codes).length).toBeGreaterThan(0);
      if (property.yieldsPrincipals) expect(stats!.principals).toBeGreaterThan(0);
    });
  }
});
