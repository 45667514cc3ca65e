import { defineConfig } from "tsdown";

export default defineConfig([
  {
    entry: {
      index: "src/index.ts",
      "testing/index": "src/testing/index.ts",
      "client/index": "src/client/index.ts",
    },
    format: ["esm", "cjs"],
    dts: true,
    platform: "node",
    target: "node20.19",
    clean: true,
    sourcemap: false,
  },
  {
    // The `trpc-cognito-m2m` command (package.json `bin`): ESM only, no types, shebang kept.
    entry: { cli: "src/cli/main.ts" },
    format: ["esm"],
    dts: false,
    platform: "node",
    target: "node20.19",
    clean: true,
    sourcemap: false,
  },
]);
