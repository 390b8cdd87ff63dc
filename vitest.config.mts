import { configDefaults, defineConfig } from "vitest/config";

/** The kernel stress test loads both cores on purpose: it runs after everything else, so it slows no other test. */
const STRESS = "test/kernel/stress.test.ts";

export default defineConfig({
  test: {
    setupFiles: ["test/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts", "src/**/*.test.ts"], exclude: [...configDefaults.exclude, STRESS], sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: "stress", include: [STRESS], sequence: { groupOrder: 1 } } },
    ],
  },
});
