// The planner's HTML report (`plan --search --html`) opened in a real browser (Debian chromium via
// playwright-core): what a person sees, checked against the same run's --json output. The page is
// served from a loopback server; any other request fails the test, because the report promises to
// be self-contained.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Locator } from 'playwright-core';
import { browserTestOptions, launchChromium } from '../helpers/browser.ts';

const ROOT = join(import.meta.dirname, '..', '..');

interface JsonOption { option: string; gpu: string; meets_slo: boolean }
interface SearchJson { evaluated: number; options: JsonOption[]; best: JsonOption | null }

// Small but mixed: a tight TPOT SLO so that both tables have rows, three accelerators so the plot
// has several curves.
const SEARCH_ARGS = ['plan', '--search', '--model', 'llama-3.1-8b', '--isl', '1000', '--osl', '300', '--rate', '5',
  '--gpus', 'h100,h200,mi300x', '--max-gpus', '2', '--ttft-slo', '200', '--tpot-slo', '4', '--top', '1000', '--json'];

async function runCli(htmlPath: string): Promise<SearchJson> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'inferstack.js'), ...SEARCH_ARGS, '--html', htmlPath], { cwd: ROOT, timeout: 30_000 });
  return JSON.parse(stdout) as SearchJson;
}

/** Serves the one report file on 127.0.0.1; everything else is a 404. */
async function serveReport(htmlPath: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/report.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(readFileSync(htmlPath));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/report.html` };
}

interface Box { x: number; y: number; width: number; height: number }
const inside = (a: Box, outer: Box) => a.x >= outer.x - 0.5 && a.y >= outer.y - 0.5 && a.x + a.width <= outer.x + outer.width + 0.5 && a.y + a.height <= outer.y + outer.height + 0.5;
const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

// Runs in the browser (plain JavaScript: the project's type check has no DOM library): decodes the
// PNG on a canvas and, for each curve, counts the points with the curve's colour within 5 px.
const SAMPLE_COLOURS = `async ({ png, curves }) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + png;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width;
  canvas.height = img.height;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, img.width, img.height).data;
  return curves.map((c) => {
    const want = [1, 3, 5].map((i) => parseInt(c.stroke.slice(i, i + 2), 16));
    const near = ([cx, cy]) => {
      for (let y = Math.round(cy) - 5; y <= Math.round(cy) + 5; y++) {
        for (let x = Math.round(cx) - 5; x <= Math.round(cx) + 5; x++) {
          if (x < 0 || y < 0 || x >= img.width || y >= img.height) continue;
          const o = (y * img.width + x) * 4;
          if (want.every((w, k) => Math.abs(px[o + k] - w) <= 40)) return true;
        }
      }
      return false;
    };
    return { label: c.label, visible: c.points.filter(near).length / c.points.length };
  });
}`;

/**
 * For each curve, the share of 60 points along it near which (within 5 px) the rendered plot has
 * the curve's colour. The plot's screenshot is decoded on a blank scratch page's canvas.
 */
async function curveVisibility(context: BrowserContext, svg: Locator): Promise<Array<{ label: string; visible: number }>> {
  const curves = await svg.evaluate((el) => [...el.querySelectorAll('path')].map((p) => {
    const len = p.getTotalLength();
    const points = Array.from({ length: 60 }, (_, i) => p.getPointAtLength((len * (i + 0.5)) / 60)).map((q) => [q.x, q.y]);
    return { label: p.querySelector('title')?.textContent ?? '', stroke: p.getAttribute('stroke') ?? '', points };
  }));
  const png = (await svg.screenshot()).toString('base64');
  const scratch = await context.newPage();
  try {
    return await scratch.evaluate(`(${SAMPLE_COLOURS})(${JSON.stringify({ png, curves })})`);
  } finally {
    await scratch.close();
  }
}

test('plan --search --html: the report as a browser shows it', browserTestOptions(), async (t) => {
  // The browser first: without one (in CI) the test fails here, before anything needs cleaning up.
  const browser = await launchChromium();
  const dir = mkdtempSync(join(tmpdir(), 'inferstack-report-'));
  let server: Server | undefined;
  try {
    const htmlPath = join(dir, 'report.html');
    const json = await runCli(htmlPath);
    const winners = json.options.filter((o) => o.meets_slo).map((o) => o.option);
    const losers = json.options.filter((o) => !o.meets_slo).map((o) => o.option);
    assert.equal(json.options.length, json.evaluated, '--top 1000 lists every option');
    assert.ok(winners.length > 1 && losers.length > 0, `the workload should give both tables rows (${winners.length} meet, ${losers.length} fail)`);

    const served = await serveReport(htmlPath);
    server = served.server;
    const url = served.url;
    const origin = new URL(url).origin;
    const page = await browser.context.newPage();
    const consoleErrors: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    page.on('websocket', (ws) => foreign.push(ws.url()));
    await browser.context.route('**/*', async (route) => {
      const u = route.request().url();
      if (new URL(u).origin === origin) return route.continue();
      foreign.push(u);
      return route.abort('blockedbyclient');
    });

    const response = await page.goto(url, { waitUntil: 'load' });
    assert.equal(response?.status(), 200);

    // Title and heading.
    assert.equal(await page.title(), 'inferstack plan --search: llama-3.1-8b');
    assert.equal(await page.locator('h1').innerText(), 'Deployment search: llama-3.1-8b');
    assert.match(await page.locator('body > p').first().innerText(), new RegExp(`${json.evaluated} options evaluated.*estimates`));

    // The two tables: the same options, in the same order, as the JSON.
    const tables = page.locator('table');
    assert.equal(await tables.count(), 2);
    const optionColumn = async (i: number) => tables.nth(i).locator('tr:has(td) > td:nth-child(2)').allInnerTexts();
    assert.deepEqual(await optionColumn(0), winners, 'table of options that meet the workload = JSON meets_slo, ranked');
    assert.deepEqual(await optionColumn(1), losers, 'table of options that fail = JSON !meets_slo, in order');
    assert.equal(await tables.nth(0).locator('tr:has(td)').first().locator('td').first().innerText(), '1');
    assert.equal(json.best?.option, winners[0]);
    for (let i = 0; i < 2; i++) {
      const headers = await tables.nth(i).locator('th').allInnerTexts();
      assert.deepEqual(headers.slice(0, 3), ['#', 'option', '$/Mtok']);
      assert.ok(await tables.nth(i).isVisible());
    }

    // The plot: one curve per legend entry, each named after an option that meets the workload,
    // one per accelerator (the cheapest of each).
    const svg = page.locator('svg');
    assert.equal(await svg.count(), 1);
    assert.ok(await svg.isVisible());
    const svgBox = (await svg.boundingBox())!;
    const curveTitles = await svg.locator('path > title').allTextContents();
    const legend = await svg.locator('[data-legend] text').allTextContents();
    assert.equal(curveTitles.length, new Set(json.options.filter((o) => o.meets_slo).map((o) => o.gpu)).size);
    assert.deepEqual(legend, curveTitles, 'legend entries = curves, same order');
    for (const label of legend) assert.ok(winners.includes(label), `legend '${label}' is an option that meets the workload`);
    for (const path of await svg.locator('path').all()) {
      const b = (await path.boundingBox())!;
      assert.ok(b.width > 50 && inside(b, svgBox), 'each curve spans the plot and stays in it');
    }
    // Each curve can be seen, not just exists: along its length, its colour shows in the rendered
    // pixels (curves of options that cost the same coincide, and one must not hide another).
    const visibility = await curveVisibility(browser.context, svg);
    for (const v of visibility) assert.ok(v.visible >= 0.8, `curve '${v.label}' visible along ${(v.visible * 100).toFixed(0)}% of its length`);
    // Text is readable: every label inside the picture, none on top of another, and the legend
    // off the plotting area so it covers no curve.
    const frame = (await svg.locator('rect').first().boundingBox())!;
    const legendBoxes = await Promise.all((await svg.locator('[data-legend]').all()).map(async (l) => (await l.boundingBox())!));
    for (const b of legendBoxes) assert.ok(!overlap(b, frame), 'legend outside the plotting area');
    for (const label of ['arrival rate (requests/s)', '$ per million tokens (log)', 'workload rate']) {
      assert.equal(await svg.locator('text', { hasText: label }).count(), 1, `axis label '${label}'`);
    }
    const texts = await svg.locator('text').all();
    const textBoxes = await Promise.all(texts.map(async (l) => ({ text: await l.textContent(), box: (await l.boundingBox())! })));
    for (const [i, a] of textBoxes.entries()) {
      assert.ok(inside(a.box, svgBox), `'${a.text}' inside the picture`);
      for (const b of textBoxes.slice(i + 1)) assert.ok(!overlap(a.box, b.box), `'${a.text}' and '${b.text}' do not overlap`);
    }
    const ticks = await svg.locator('text', { hasText: /^\$[\d.]+$/ }).allTextContents();
    assert.ok(ticks.length >= 2, `y ticks: ${ticks.join(' ')}`);

    // A picture for people (INFERSTACK_SCREENSHOT_DIR keeps it).
    const shotDir = process.env.INFERSTACK_SCREENSHOT_DIR ?? dir;
    const shot = join(shotDir, 'html-report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'screenshot has content');
    t.diagnostic(`screenshot: ${shot}`);

    assert.deepEqual(consoleErrors, [], 'no console errors or warnings');
    assert.deepEqual(foreign, [], 'nothing requested beyond the loopback report');
  } finally {
    await browser.close();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
