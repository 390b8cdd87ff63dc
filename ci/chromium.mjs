// Headless Chromium for the browser checks (ci/browser_check.mjs, ci/jupyterlab_check.mjs): Debian's chromium
// driven by playwright-core, with a fresh profile folder and nothing that reaches the network on its own.
import { chromium } from "playwright-core";

/** Chromium flags: no sandbox (CI runs as root), no GPU, no background updates, sync, first-run page or QUIC. */
export const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--disable-quic",
];

/** The Chromium binary: $CHROMIUM, else Debian's /usr/bin/chromium. */
export const chromiumPath = () => process.env.CHROMIUM ?? "/usr/bin/chromium";

/**
 * Launches headless Chromium at 1280×900 with its profile in `profileDir`. Returns { context, page, pageErrors }:
 * the first page, and the uncaught page errors it collects (the caller decides whether they fail the check).
 */
export async function launchChromium(profileDir, executablePath = chromiumPath()) {
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: CHROMIUM_ARGS,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  return { context, page, pageErrors };
}
