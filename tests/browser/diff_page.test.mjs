// diff_page.test.mjs — the differential flame graph (`nsprof diff -o page.html`) in headless
// Chromium, on the builds of tests/workloads/diff_work.c whose difference is known by
// construction: count_pairs made linear (it all but vanishes), untouched the same in both,
// keep_blocks' leak fixed. The page is the flame page in its diff mode; what it shows is
// checked against `nsprof diff --json` of the same runs (the analyzer's own numbers and
// verdicts), and its colours are read back from the canvas pixels.
//
//   cd tests/browser && NSPROF=build/nsprof NSPROF_WORKLOADS=build/tests/workloads node --test diff_page.test.mjs
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { WORKLOADS, api, describeWatch, launchChromium, nsprof, openPage, outputDir, pageData, tempDir } from './harness.mjs';

const SCALE = '2';

function record(work, build, name) {
  const nsp = path.join(work, name);
  nsprof(['record', '-o', nsp, '--', path.join(WORKLOADS, build), SCALE]);
  return nsp;
}

// `nsprof diff --json` and the page of the same runs.
function diffOf(args, html) {
  const json = JSON.parse(nsprof(['diff', '--json', '--top', '0', ...args]));
  nsprof(['diff', '--force', '-o', html, ...args]);
  return json;
}

function row(json, name) {
  const r = json.functions.find((f) => f.function === name && !f.inlined);
  assert.ok(r, `nsprof diff has no row for ${name}`);
  return r;
}

function close(actual, expected, what) {
  assert.ok(Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)), `${what}: ${actual}, expected ${expected}`);
}

// The colour drawn at the top-left inside a frame's rectangle: 'red', 'blue' or 'grey'.
async function drawnColour(page, rect) {
  const [r, g, b] = await page.evaluate(({ x, y }) => {
    const c = document.getElementById('flame'), dpr = window.devicePixelRatio || 1;
    return [...c.getContext('2d').getImageData(Math.round((x + 2) * dpr), Math.round((y + 2) * dpr), 1, 1).data];
  }, rect);
  if (Math.abs(r - g) < 10 && Math.abs(g - b) < 10) return 'grey';
  return r > b ? 'red' : 'blue';
}

// The colour a verdict must have: grey within noise, red when it grew, blue when it shrank.
function expectedColour(before, after, noise) {
  return noise || before === after ? 'grey' : after > before ? 'red' : 'blue';
}

describe('the differential flame graph', () => {
  let browser, work, single, multi;

  before(async () => {
    browser = await launchChromium();
    work = tempDir('nsprof-browser-diff-');
    // Interleaved, so that a drift of the machine's speed falls on both sides alike; five a
    // side, since with three Welch's t (about 2 degrees of freedom) can miss
    // Benjamini-Hochberg's bar for count_pairs (tests/integration/test_diff.py).
    const b = [], a = [];
    for (let i = 0; i < 5; i++) {
      b.push(record(work, 'diff_before', `b${i}.nsp`));
      a.push(record(work, 'diff_after', `a${i}.nsp`));
    }
    const out = outputDir();
    single = { html: path.join(out, 'diff-single.html') };
    single.json = diffOf([b[0], a[0]], single.html);
    multi = { html: path.join(out, 'diff-runs.html') };
    multi.json = diffOf(['--before', ...b, '--after', ...a], multi.html);
  });

  after(async () => {
    if (browser) await browser.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function open(which, fn) {
    const { page, watch, context } = await openPage(browser, which.html);
    try {
      await fn(page, (method, ...args) => api(page, method, ...args), watch);
      assert.deepEqual(watch.foreignRequests, [], describeWatch(watch));
      assert.deepEqual(watch.consoleErrors, [], describeWatch(watch));
      assert.deepEqual(watch.pageErrors, [], describeWatch(watch));
      assert.deepEqual(await page.evaluate(() => window.nsprofPage.errors), []);
    } finally {
      await context.close();
    }
  }

  it('draws the after profile, says what it compares, and makes no request', async (t) => {
    const { doc } = pageData(single.html);
    assert.ok(doc.diff, 'the page data has no diff part');
    await open(single, async (page, call) => {
      assert.deepEqual(await call('diff'), { normalize: 'runs', runsBefore: 1, runsAfter: 1, fdr: 0.05, runNoise: 0.05 });
      assert.ok((await call('drawnFrames')) > 5, 'the flame graph is empty');
      assert.equal(await call('shape'), 'after');
      const root = await call('root');
      close(root.before, single.json.summary.find((s) => s.event === 'cpu').before, 'total before');
      close(root.after, single.json.summary.find((s) => s.event === 'cpu').after, 'total after');
      assert.equal(await page.textContent('#title'), 'diff_before → diff_after');
      const summary = await page.textContent('#diff-summary');
      assert.match(summary, /1 run\).*normalized per run.*red hotter, blue cooler, grey within noise/s);
      assert.ok(summary.includes(single.json.method), `the summary does not give the method: ${summary}`);
      assert.ok(await page.isHidden('#timeline-box'), 'a diff has no time line');
      const shot = path.join(outputDir(), 'diff-single.png');
      await page.screenshot({ path: shot, fullPage: true });
      t.diagnostic(`screenshot: ${shot}`);
    });
  });

  for (const which of ['single', 'multi']) {
    it(`rows and colours match nsprof diff --json (${which === 'single' ? 'one run' : 'five runs'} a side)`, async () => {
      const d = which === 'single' ? single : multi;
      await open(d, async (page, call) => {
        const rows = await call('hotspots', 'function');
        const checked = [];
        for (const name of ['count_pairs', 'untouched', 'main']) {
          const j = row(d.json, name), r = rows.find((x) => x.name === name);
          assert.ok(r, `the page's function table has no ${name}`);
          close(r.before, j.before, `${name} self before`);
          close(r.after, j.after, `${name} self after`);
          close(r.totalBefore, j.before_total, `${name} total before`);
          close(r.totalAfter, j.after_total, `${name} total after`);
          assert.equal(r.noise, j.noise, `${name}: self verdict`);
          assert.equal(r.totalNoise, j.total_noise, `${name}: total verdict`);
          checked.push(name);
        }
        // By construction: count_pairs all but vanished (beyond noise), untouched did not move.
        // With several runs a side Welch's t has no floor: a steady drift of a few % between
        // runs can be a real difference to it, so there its change is held to be small.
        assert.equal(row(d.json, 'count_pairs').noise, false);
        if (which === 'single') assert.equal(row(d.json, 'untouched').noise, true);
        else assert.ok(Math.abs(row(d.json, 'untouched').delta_pct) < 10, `untouched moved ${row(d.json, 'untouched').delta_pct}%`);
        // Frames reached by one path only: the node is the function; its colour on the canvas
        // is its verdict. count_pairs is drawn in the before shape (the after one lost it).
        for (const [name, shape] of [['untouched', 'after'], ['main', 'after'], ['count_pairs', 'before']]) {
          await call('setShape', shape);
          const ids = await call('find', name);
          assert.equal(ids.length, 1, `${name} is on one path`);
          const n = await call('node', ids[0]), j = row(d.json, name);
          close(n.before, j.before_total, `${name} node before`);
          close(n.after, j.after_total, `${name} node after`);
          assert.equal(n.noise, j.total_noise, `${name}: the frame's verdict`);
          const rect = await call('rect', ids[0]);
          assert.ok(rect && rect.w > 4, `${name} is not drawn in the ${shape} shape`);
          assert.equal(await drawnColour(page, rect), expectedColour(j.before_total, j.after_total, j.total_noise),
            `${name}: colour on the canvas (${n.color})`);
        }
      });
    });
  }

  // same_name runs A rounds of same_name_a.c's static step (through run_a) and B of
  // same_name_b.c's (through run_b): before mostly a's (and some of b's, so that the before
  // run holds both steps), after only b's, so run_a and a's step vanish whatever the machine
  // does.
  it('lists what vanished, draws it in the before shape, and tells two steps apart', async () => {
    const prog = path.join(WORKLOADS, 'same_name');
    const b = path.join(work, 'sa.nsp'), a = path.join(work, 'sb.nsp');
    nsprof(['record', '-o', b, '--', prog, '200000', '30000']);
    nsprof(['record', '-o', a, '--', prog, '0', '200000']);
    const moved = { html: path.join(outputDir(), 'diff-vanished.html') };
    moved.json = diffOf([b, a], moved.html);
    await open(moved, async (page, call) => {
      const vanished = await call('hotspots', 'vanished');
      const ra = vanished.find((v) => v.name === 'run_a');
      assert.ok(ra, `run_a is not in the vanished table: ${vanished.map((v) => v.name)}`);
      assert.equal(ra.caller, 'main');
      close(ra.before, row(moved.json, 'run_a').before_total, 'vanished run_a before');
      for (const nid of await call('find', 'run_a'))
        assert.equal(await call('rect', nid), null, 'the after shape does not draw run_a');
      const id = await call('openVanished', ra.node);
      assert.ok(id >= 0);
      assert.equal(await call('shape'), 'before');
      assert.equal((await call('root')).name, 'run_a', 'opening it zooms to it');
      assert.ok(await page.isChecked('#before-shape'));
      const rect = await call('rect', id);
      assert.equal(await drawnColour(page, rect), 'blue', 'a vanished frame is cooler');
      await page.click('#before-shape');
      assert.equal(await call('shape'), 'after');
      assert.equal(await page.locator('#vanished tbody tr', { hasText: 'run_a' }).count(), 1);
      // Two static functions named step: two rows, each with the JSON's numbers for its file.
      const steps = (await call('hotspots', 'function')).filter((r) => r.name === 'step');
      assert.equal(steps.length, 2, 'one row per step');
      for (const r of steps) {
        const j = moved.json.functions.find((f) => f.function === 'step' && r.file.endsWith(f.declared_in));
        assert.ok(j, `no JSON row for the step of ${r.file}`);
        close(r.before, j.before, `step of ${j.declared_in} before`);
        close(r.after, j.after, `step of ${j.declared_in} after`);
        assert.equal(r.verdict, j.after < j.before ? 'improved' : 'regressed');
      }
    });
  });

  it('the inverted view and a sandwich carry both sides', async () => {
    await open(single, async (page, call) => {
      await call('setInverted', true);
      const ids = await call('find', 'untouched');
      const top = [];
      for (const id of ids) {
        const n = await call('node', id);
        if (n.depth === 1) top.push(n);
      }
      assert.equal(top.length, 1, 'untouched heads one inverted stack');
      const j = row(single.json, 'untouched');
      close(top[0].before, j.before, 'inverted untouched before = its self');
      close(top[0].after, j.after, 'inverted untouched after = its self');
      await call('setInverted', false);
      assert.ok(await call('sandwich', 'main'));
      const callee = await call('root');
      assert.equal(callee.name, 'main');
      close(callee.before, row(single.json, 'main').before_total, 'sandwich main before');
      close(callee.after, row(single.json, 'main').after_total, 'sandwich main after');
      assert.ok((await call('drawnFrames')) > 2);
    });
  });

  it('the tooltip gives before, after, change and verdict', async () => {
    await open(single, async (page, call) => {
      const ids = await call('find', 'untouched');
      const rect = await call('rect', ids[0]);
      const box = await page.locator('#flame').boundingBox();
      await page.mouse.move(box.x + rect.x + rect.w / 2, box.y + rect.y + rect.h / 2);
      const text = await page.locator('#tooltip').innerText();
      assert.match(text, /^untouched/);
      assert.match(text, /total\s+before .* → after /);
      assert.match(text, /self\s+before .* → after /);
      assert.match(text, /within noise/);
    });
  });
});
