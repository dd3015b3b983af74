// Real-browser tests: Debian's chromium driven by playwright-core (no browser download; the
// machine's network is closed). Outside CI a missing chromium skips the test with a reason; in CI
// (env CI set) it is a failure, because .ci/run installs it.
//
//   test('my page', browserTestOptions(), async () => {
//     const b = await launchChromium();
//     try { const page = await b.context.newPage(); ... } finally { await b.close(); }
//   });
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Without the background-networking flags chromium keeps dialling Google's hosts, which this
// closed network refuses; --no-sandbox because tests run as root here.
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

const missingMessage = () =>
  `chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get install -y --no-install-recommends chromium\` (.ci/run does), or set CHROMIUM_PATH`;

/** Options for node:test's test(): skip with a reason when chromium is missing, unless in CI. */
export function browserTestOptions(): { skip?: string } {
  if (existsSync(CHROMIUM_PATH) || process.env.CI) return {};
  return { skip: missingMessage() };
}

export interface LaunchedChromium {
  context: BrowserContext;
  /** Closes the browser and removes its profile directory. */
  close(): Promise<void>;
}

/** Headless chromium with a fresh, empty profile (its own --user-data-dir) that close() removes. */
export async function launchChromium(opts: { viewport?: { width: number; height: number } } = {}): Promise<LaunchedChromium> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(missingMessage());
  const profile = mkdtempSync(join(tmpdir(), 'inferstack-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: opts.viewport ?? { width: 1280, height: 900 },
      timeout: 20_000,
    });
    return {
      context,
      async close() {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
}
