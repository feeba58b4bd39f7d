// flame_render.mjs — how long a page of `nsprof flame` takes to show its flame graph in
// headless Chromium (Debian's, driven by playwright-core from tests/browser/node_modules:
// run `tools/setup.sh --test` first). Each page is loaded --runs times, each time in a new
// browser context, from its file:// URL; per load it reads
//   first_render_ms  window.nsprofPage.firstRenderMs: from navigation start (the page's
//                    performance.timeOrigin) to the first view drawn (docs/FLAME_PAGE.md)
//   wall_ms          measured here: from page.goto to nsprofPage.ready seen resolved
//                    (includes the DevTools round trips)
//   tables_ms        the two hotspot tables' rows computed once more after ready (the page
//                    renders them in the task after the first draw)
// and the page's own breakdown (nsprofPage.timings, when the page gives one). Prints one
// JSON object per page, with medians, to stdout. A page that reports an error, logs one or
// makes a network request fails the run: its time would mean nothing.
//
//   node bench/flame_render.mjs [--runs 5] PAGE.html...
import path from 'node:path';

import { describeWatch, launchChromium, openPage } from '../tests/browser/harness.mjs';

function median(xs) {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const round = (x) => Math.round(x * 10) / 10;

function parseArgs(argv) {
  const out = { runs: 5, pages: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') out.runs = Number(argv[++i]);
    else if (argv[i] === '-h' || argv[i] === '--help') {
      console.log('usage: node bench/flame_render.mjs [--runs N] PAGE.html...');
      process.exit(0);
    } else out.pages.push(path.resolve(argv[i]));
  }
  if (!(out.runs >= 1) || !out.pages.length) throw new Error('usage: node bench/flame_render.mjs [--runs N] PAGE.html...');
  return out;
}

async function loadOnce(browser, page) {
  const { page: tab, context, watch, firstRenderMs, wallMs } = await openPage(browser, page);
  try {
    const extra = await tab.evaluate(() => {
      const api = window.nsprofPage, t0 = performance.now();
      api.hotspots('function');
      api.hotspots('line');
      return { tablesMs: performance.now() - t0, timings: api.timings || null, errors: api.errors.slice(), drawn: api.drawnFrames() };
    });
    const bad = watch.foreignRequests.length + watch.consoleErrors.length + watch.pageErrors.length + extra.errors.length;
    if (bad) throw new Error(`${page}: ${describeWatch(watch)}; page errors: ${JSON.stringify(extra.errors)}`);
    return { firstRenderMs, wallMs, ...extra };
  } finally {
    await context.close();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const browser = await launchChromium();
  try {
    for (const page of args.pages) {
      const runs = [];
      for (let i = 0; i < args.runs; i++) runs.push(await loadOnce(browser, page));
      const timings = {};
      for (const key of Object.keys(runs[0].timings || {}))
        if (key !== 'startMs') timings[key] = round(median(runs.map((r) => r.timings[key])));
      console.log(JSON.stringify({
        page, runs: args.runs, first_render_ms: round(median(runs.map((r) => r.firstRenderMs))),
        wall_ms: round(median(runs.map((r) => r.wallMs))), tables_ms: round(median(runs.map((r) => r.tablesMs))),
        drawn_frames: runs[0].drawn, timings,
      }));
    }
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error('flame_render: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
