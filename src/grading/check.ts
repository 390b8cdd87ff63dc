/**
 * `check(name, value, options)`: what a test cell calls. It only sends the value to the grader (a display_data
 * bundle); the grader, in its own process, compares it with the value the same check produced when the
 * instructor's solution ran in a separate kernel. No expected value ever enters the kernel that calls this.
 */
import { sendDisplay } from "../display/sink";
import { CHECK_FORMAT, CHECK_MIME, MAX_NAME, describe, encodeValue, type CheckOptions, type CheckPayload } from "./check-value";

export type { CheckOptions } from "./check-value";

function plainOptions(options: CheckOptions | undefined): CheckOptions {
  if (options === undefined || options === null || typeof options !== "object") return {};
  const o: { rtol?: number; atol?: number; points?: number; message?: string } = {};
  if (options.rtol !== undefined) o.rtol = options.rtol;
  if (options.atol !== undefined) o.atol = options.atol;
  if (options.points !== undefined) o.points = options.points;
  if (options.message !== undefined) o.message = String(options.message);
  for (const k of Object.keys(options)) if (!["rtol", "atol", "points", "message"].includes(k)) (o as Record<string, unknown>)[k] = (options as Record<string, unknown>)[k];
  return o;
}

/**
 * Sends `value` (numbers, booleans, strings, arrays, typed arrays, tensors, or records of those) to the grader under
 * `name`, which must be unique in the notebook. Tolerances, points and the message are read from the instructor's
 * version of the cell only. Prints one line saying what was sent; never says whether it is right.
 */
export function check(name: string, value: unknown, options?: CheckOptions): void {
  if (typeof name !== "string" || name === "" || name.length > MAX_NAME) {
    throw new TypeError(`check(name, value): name must be a non-empty string of at most ${MAX_NAME} characters.`);
  }
  const encoded = encodeValue(value);
  const payload: CheckPayload = { format: CHECK_FORMAT, name, value: encoded, options: plainOptions(options) };
  const what = encoded.t === "unsupported" ? `${encoded.what} (which cannot be graded)` : describe(encoded);
  sendDisplay({
    data: { [CHECK_MIME]: payload, "text/plain": `check "${name}": sent ${what} to the grader` },
    metadata: {},
    transient: {},
    update: false,
  });
}
