/** `metalab grade` limit flags: a fractional byte, process or job count is a usage error before anything is graded. */
import { describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/metalab";

describe("metalab grade limits", () => {
  it("--max-output, --max-procs and --jobs must be whole numbers (exit 2, with the flag named)", async () => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      for (const flag of ["--max-output", "--max-procs", "--jobs"]) {
        err.mockClear();
        expect(await main(["grade", "--instructor", "/nonexistent.ipynb", "--submissions", "/nonexistent", "--out", "/tmp/x", flag, "1.5"])).toBe(2);
        expect(err.mock.calls.flat().join(" ")).toContain(`${flag} must be a whole number`);
      }
    } finally {
      err.mockRestore();
    }
  });
});
