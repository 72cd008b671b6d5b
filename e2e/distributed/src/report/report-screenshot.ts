import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

/**
 * Opens report.html in the system's headless Chromium (Debian's `chromium` package, driven by
 * playwright-core; no browser is ever downloaded) and saves a full-page screenshot next to it.
 */

export const CHROMIUM_PATH = process.env['E2E_CHROMIUM_PATH'] ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const LAUNCH_TIMEOUT_MS = 60_000;

/** What the rendered page shows, for the test to check against the report. */
export interface RenderedReport {
  pngPath: string;
  pngBytes: number;
  title: string;
  headings: { level: number; text: string }[];
  /** aria-label of every inline plot, in page order. */
  plots: string[];
  /** Row headers of the scenario tables (e.g. "status API through nginx"). */
  rowHeaders: string[];
  /** The page's visible text. */
  text: string;
}

export async function screenshotReport(
  htmlPath: string,
  pngPath = path.join(path.dirname(htmlPath), 'report.png'),
): Promise<RenderedReport> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing (Debian: apt-get install -y chromium)`);
  }
  // A fresh profile per run: nothing from an earlier run (or a person's browser) leaks in.
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'els-report-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: LAUNCH_TIMEOUT_MS,
      viewport: { width: 1024, height: 768 },
      offline: true,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });
      const title = await page.title();
      const headings = await page
        .locator('h1, h2, h3')
        .evaluateAll((nodes) =>
          nodes.map((node) => ({ level: Number(node.tagName.slice(1)), text: node.textContent ?? '' })),
        );
      const plots = await page
        .locator('svg')
        .evaluateAll((nodes) => nodes.map((node) => node.getAttribute('aria-label') ?? ''));
      const rowHeaders = await page
        .locator('section th')
        .evaluateAll((nodes) => nodes.map((node) => node.textContent ?? ''));
      const text = await page.locator('body').innerText();
      await page.screenshot({ path: pngPath, fullPage: true });
      return { pngPath, pngBytes: fs.statSync(pngPath).size, title, headings, plots, rowHeaders, text };
    } finally {
      await context.close();
    }
  } finally {
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}
