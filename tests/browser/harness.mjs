// harness.mjs — what the browser tests (and bench/flame_render.mjs) share: Debian's
// Chromium driven by playwright-core, a page opened under watch (every request, console
// error, uncaught exception and dialog recorded), and the nsprof commands that make the
// profiles and pages the tests check.
//
// Environment (set by tests/browser/CMakeLists.txt):
//   NSPROF            the nsprof executable
//   NSPROF_WORKLOADS  the directory of the ground-truth workloads (tests/workloads)
//   NSPROF_BROWSER_OUT where screenshots and the pages tested are kept (default: a temp dir)
//   NSPROF_CHROMIUM   the browser (default /usr/bin/chromium, Debian's package `chromium`)
//
// Chromium and node_modules are installed by `tools/setup.sh --test`; without them the
// tests fail and say so (they never skip).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

export const CHROMIUM = process.env.NSPROF_CHROMIUM || '/usr/bin/chromium';
export const NSPROF = process.env.NSPROF || 'nsprof';
export const WORKLOADS = process.env.NSPROF_WORKLOADS || '.';

// A fresh headless browser that reaches nothing on its own: no first-run pages, no
// background fetches, no component updates (a request from the browser itself would not
// be the page's, but would muddle what the tests watch).
export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const SETUP_HINT = 'run tools/setup.sh --test (it installs Debian\'s chromium and runs npm ci in tests/browser)';

// Chromium through playwright-core; throws with the remedy when either is missing.
export async function launchChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: ${SETUP_HINT}`);
  let playwright;
  try {
    playwright = await import('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed in tests/browser/node_modules (${e.code || e.message}): ${SETUP_HINT}`);
  }
  // launch() gives the browser a new empty profile in a temp directory, removed on close.
  return playwright.chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, timeout: 60000 });
}

export function outputDir() {
  const dir = process.env.NSPROF_BROWSER_OUT || path.join(tmpdir(), 'nsprof-browser-out');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function tempDir(prefix) {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function run(cmd, args, options = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28, ...options });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${e.status ?? e.code}):\n${e.stderr || e.message}`);
  }
}

export function nsprof(args, options) {
  return run(NSPROF, args, options);
}

export function report(nsp) {
  return JSON.parse(nsprof(['report', '--json', '--top', '0', nsp]));
}

export function writePage(nsp, html) {
  nsprof(['flame', '--force', '-o', html, nsp]);
  return html;
}

// The document embedded in a page (docs/FLAME_DATA.md), decoded here independently of the
// page's own decoder.
export function pageData(html) {
  const m = /<script type="application\/octet-stream" id="nsprof-data" data-encoding="([a-z0-9-]+)">([^<]*)<\/script>/.exec(
    readFileSync(html, 'utf8'));
  if (!m) throw new Error(`${html} has no data element`);
  const text = m[1] === 'json' ? m[2] : zlib.inflateRawSync(Buffer.from(m[2], 'base64')).toString('utf8');
  return { encoding: m[1], doc: JSON.parse(text) };
}

export function reportEvent(rep, name) {
  const e = rep.events.find((x) => x.name === name);
  if (!e) throw new Error(`no ${name} event in the report (events: ${rep.events.map((x) => x.name)})`);
  return e;
}

export function reportFunction(ev, name) {
  return ev.functions_by_total.find((f) => f.name === name) || null;
}

// How far an observed share may be from p after n samples (tests/integration/nsptest.py's
// binomial_tolerance): 4 standard deviations plus what sampling cannot see.
export function binomialTolerance(p, n, sigmas = 4, slack = 0.005) {
  return n > 0 ? sigmas * Math.sqrt((p * (1 - p)) / n) + slack : 1;
}

function samePage(requestUrl, pageUrl) {
  if (!requestUrl.startsWith('file:')) return false;
  try {
    return fileURLToPath(requestUrl) === fileURLToPath(pageUrl);
  } catch {
    return false;
  }
}

// Opens html in a new browser context and waits for window.nsprofPage.ready. The returned
// watch lists what must stay empty: requests other than the page itself (data: and blob:
// are the page's own), console errors, uncaught exceptions, dialogs and popups.
export async function openPage(browser, html, { viewport = { width: 1280, height: 900 }, deviceScaleFactor = 1 } = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor });
  const page = await context.newPage();
  const url = pathToFileURL(html).href;
  const watch = { url, requests: [], foreignRequests: [], consoleErrors: [], pageErrors: [], dialogs: [], popups: [] };
  context.on('request', (r) => {
    const u = r.url();
    watch.requests.push(u);
    if (!samePage(u, url) && !u.startsWith('data:') && !u.startsWith('blob:')) watch.foreignRequests.push(u);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') watch.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => watch.pageErrors.push(String((e && e.stack) || e)));
  page.on('dialog', (d) => {
    watch.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('popup', (p) => watch.popups.push(p.url()));
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'load' });
  const state = await page.evaluate(async () => {
    const api = window.nsprofPage;
    if (!api) return { error: 'the page set no window.nsprofPage' };
    try {
      await api.ready;
    } catch (e) {
      return { error: 'nsprofPage.ready rejected: ' + (e && e.message ? e.message : String(e)) };
    }
    return { firstRenderMs: api.firstRenderMs, errors: api.errors.slice() };
  });
  const wallMs = performance.now() - t0;
  if (state.error) throw new Error(`${html}: ${state.error}; ${describeWatch(watch)}`);
  return { page, context, watch, firstRenderMs: state.firstRenderMs, wallMs };
}

export function describeWatch(w) {
  const parts = [];
  for (const key of ['foreignRequests', 'consoleErrors', 'pageErrors', 'dialogs', 'popups'])
    if (w[key].length) parts.push(`${key}: ${JSON.stringify(w[key])}`);
  return parts.length ? parts.join('; ') : 'nothing unexpected';
}

// Calls window.nsprofPage[method](...args) in the page.
export function api(page, method, ...args) {
  return page.evaluate(([m, a]) => {
    const fn = window.nsprofPage[m];
    if (typeof fn !== 'function') throw new Error('nsprofPage.' + m + ' is not a function');
    return fn(...a);
  }, [method, args]);
}
