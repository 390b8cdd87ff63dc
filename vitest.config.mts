import { configDefaults, defineConfig } from "vitest/config";

/** Tests that start a Jupyter kernel (tslab or ipykernel): slow, and need the kernel's dependencies installed. */
const KERNEL_TESTS = [
  "test/notebook/runner.test.ts",
  "test/cli/reproduce-signal.test.ts",
  "test/cli/reproduce-jobs.test.ts",
  "test/notebook/cell-progress.test.ts",
  "test/kernel/message-order.test.ts",
  "test/kernel/interrupt.test.ts",
  "test/kernel/tracebacks.test.ts",
  "test/kernel/survives.test.ts",
  "test/grading/assign.test.ts",
  "test/grading/cli.test.ts",
  "test/grading/fixture-class.test.ts",
  "test/grading/grade-one.test.ts",
  "test/grading/gradescope.test.ts",
  "test/grading/adversarial.test.ts",
  "test/grading/interrupt.test.ts",
  "test/grading/sandbox.test.ts",
  "test/notebooks/**/*.test.ts",
  "test/exercises/grade-exercises.test.ts",
];

/** The kernel stress test loads both cores on purpose: it runs after everything else, so it slows no other test. */
const STRESS = "test/kernel/stress.test.ts";

export default defineConfig({
  test: {
    setupFiles: ["test/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    reporters: ["default", "./test/slowest-reporter.mts"],
    // Three projects, all run by `npm test`: `npx vitest run --project unit` skips the kernels while iterating.
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts", "src/**/*.test.ts"], exclude: [...configDefaults.exclude, ...KERNEL_TESTS, STRESS], sequence: { groupOrder: 0 } },
      },
      { extends: true, test: { name: "kernel", include: KERNEL_TESTS, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: "stress", include: [STRESS], sequence: { groupOrder: 1 } } },
    ],
  },
});
