/**
 * `npm run fuzz`: runs every fuzz property of ./properties.ts, 200 000 cases by default (most of
 * them in process, about 8 % through a running server over one keep-alive connection), prints
 * what each one saw and the time taken, and exits 1 on a counterexample.
 *
 *   npm run fuzz -- [--cases N] [--seed S]
 */
import fc from "fast-check";

import { checkProperty, createFuzzHarness, planRuns } from "./properties.js";

function option(name: string): number | undefined {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return undefined;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value)) throw new Error(`--${name} needs a whole number`);
  return value;
}

const total = option("cases") ?? 200_000;
const seed = option("seed") ?? Date.now() % 2 ** 31;
const harness = await createFuzzHarness();
const started = performance.now();
let cases = 0;
let failures = 0;

console.log(`fuzz: ${total} cases, seed ${seed}`);
for (const [property, runs] of planRuns(total)) {
  const begun = performance.now();
  const details = await checkProperty(property, harness, runs, seed);
  const seconds = ((performance.now() - begun) / 1000).toFixed(1);
  cases += details.numRuns;

  const stats = harness.stats.get(property.name);
  const codes = Object.entries(stats?.codes ?? {})
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${code} ${n}`)
    .join(", ");
  console.log(
    `  ${details.failed ? "FAIL" : "ok  "} ${property.name} [${property.where}]: ` +
      `${details.numRuns} cases in ${seconds} s; principals ${stats?.principals ?? 0} ` +
      `(re-encoded signatures ${stats?.variants ?? 0}), none ${stats?.nulls ?? 0}; ${codes}`,
  );
  if (details.failed) {
    failures += 1;
    console.error(fc.defaultReportMessage(details));
  }
}

const elapsed = ((performance.now() - started) / 1000).toFixed(1);
console.log(`fuzz: ${cases} cases in ${elapsed} s, ${failures} failing properties (seed ${seed})`);
await harness.close();
process.exit(failures === 0 && cases >= Math.min(total, 100_000) ? 0 : 1);
