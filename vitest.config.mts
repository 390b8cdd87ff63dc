import { defineConfig } from "vitest/config";

/** Tests that start a Jupyter kernel (tslab or ipykernel): slow, and need the kernel's dependencies installed. */
const KERNEL_TESTS = [
  "test/notebook/runner.test.ts",
  "test/grading/assign.test.ts",
  "test/grading/cli.test.ts",
  "test/grading/fixture-class.test.ts",
  "test/grading/grade-one.test.ts",
  "test/grading/gradescope.test.ts",
  "test/notebooks/**/*.test.ts",
];

export default defineConfig({
  test: {
    setupFiles: ["test/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default", "./test/slowest-reporter.mts"],
    // Two projects, both run by `npm test`: `npx vitest run --project unit` skips the kernels while iterating.
    projects: [
      { extends: true, test: { name: "unit", include: ["test/**/*.test.ts", "src/**/*.test.ts"], exclude: KERNEL_TESTS } },
      { extends: true, test: { name: "kernel", include: KERNEL_TESTS } },
    ],
  },
});
