// flame_page.test.mjs — the flame-graph page of `nsprof flame` in headless Chromium, on a
// profile whose answers are known by construction: split_cpu spends its CPU time 25% / 75%
// in work_a / work_b, recorded with --alloc full --io on so the page has several views.
// Through window.nsprofPage (docs/FLAME_PAGE.md) and real mouse and keyboard input it checks
// that the page draws the report's numbers (`nsprof report --json` of the same profile is
// the exact reference), zooms on click, reports search shares, switches views, selects time
// ranges, and that it made no network request and logged no error. A screenshot goes to
// NSPROF_BROWSER_OUT (the ctest binary dir).
//
//   cd tests/browser && NSPROF=build/nsprof NSPROF_WORKLOADS=build/tests/workloads node --test
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

import {
  api, binomialTolerance, describeWatch, launchChromium, nsprof, openPage, outputDir, pageData, report,
  reportEvent, reportFunction, tempDir, WORKLOADS, writePage,
} from './harness.mjs';

// Within a pixel: a frame's width is its share of the zoom root's width.
function assertWidth(rect, expected, what) {
  assert.ok(rect, `${what} is not drawn`);
  assert.ok(Math.abs(rect.w - expected) <= 1, `${what}: drawn ${rect.w} px wide, expected ${expected} px`);
}

describe('the flame page of split_cpu', () => {
  let browser, dir, html, rep, cpu, doc, page, watch, opened;
  const call = (method, ...args) => api(page, method, ...args);
  const cpuTotal = () => cpu.weight;
  const fn = (name) => reportFunction(cpu, name);

  before(async () => {
    browser = await launchChromium();
    dir = tempDir('nsprof-browser-');
    const nsp = path.join(dir, 'split_cpu.nsp');
    nsprof(['record', '-o', nsp, '--alloc', 'full', '--io', 'on', '--', path.join(WORKLOADS, 'split_cpu'), '1'], { cwd: dir });
    rep = report(nsp);
    cpu = reportEvent(rep, 'cpu');
    html = writePage(nsp, path.join(outputDir(), 'split_cpu.html'));
    doc = pageData(html).doc;
    opened = await openPage(browser, html);
    ({ page, watch } = opened);
  });

  // Each test starts from the page as opened, whatever the one before left (or failed in).
  beforeEach(async () => {
    await page.evaluate(() => {
      const p = window.nsprofPage;
      p.clearRange();
      p.sandwich(null);
      p.setInverted(false);
      p.setView('cpu');
      p.search('');
      p.reset();
    });
  });

  after(async () => {
    if (browser) await browser.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is ready and lists every event of the report with its total, opening on cpu', async () => {
    assert.ok(opened.firstRenderMs > 0, `firstRenderMs is ${opened.firstRenderMs}`);
    const views = await call('views');
    assert.deepEqual(views.map((v) => v.name), rep.events.map((e) => e.name));
    for (const v of views) {
      const e = reportEvent(rep, v.name);
      assert.equal(v.total, e.weight, `${v.name} total`);
      assert.equal(v.unit, e.unit, `${v.name} unit`);
    }
    assert.equal(await call('view'), 'cpu');
    assert.ok((await call('drawnFrames')) > 0, 'nothing drawn');
  });

  it('draws the root `all` with the report\'s cpu total and work_b with its share of the width', async () => {
    const root = await call('root');
    assert.equal(root.id, 0);
    assert.equal(root.name, 'all');
    assert.equal(root.total, cpuTotal());
    const width = await page.evaluate(() => window.nsprofPage.canvas().getBoundingClientRect().width);
    assertWidth(await call('rect', 0), width, 'all');
    for (const name of ['main', 'run_split', 'work_a', 'work_b']) {
      const ids = await call('find', name);
      assert.ok(ids.length > 0, `${name} is not in the tree`);
      const nodes = await Promise.all(ids.map((id) => call('node', id)));
      // split_cpu does not recurse: the totals of a function's nodes add up to its total.
      assert.equal(nodes.reduce((s, n) => s + n.total, 0), fn(name).total_weight, `${name} total`);
      assert.equal(nodes[0].name, name);
      assertWidth(await call('rect', ids[0]), (width * nodes[0].total) / root.total, name);
    }
    const [a, b] = [fn('work_a'), fn('work_b')];
    const share = b.total_weight / (a.total_weight + b.total_weight);
    const tol = binomialTolerance(0.75, a.total_samples + b.total_samples);
    assert.ok(Math.abs(share - 0.75) < tol, `work_b has ${share} of the split, expected 0.75 ± ${tol}`);
  });

  it('zooms to the frame clicked, back to an ancestor clicked, and resets', async () => {
    const [id] = await call('find', 'work_b');
    const canvas = page.locator('#flame');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    const r = await call('rect', id);
    assert.equal((await call('frameAt', r.x + r.w / 2, r.y + r.h / 2)).id, id, 'frameAt disagrees with rect');
    await page.mouse.click(box.x + r.x + r.w / 2, box.y + r.y + r.h / 2);
    const root = await call('root');
    assert.equal(root.name, 'work_b');
    assert.equal(root.id, id);
    const width = box.width;
    assertWidth(await call('rect', id), width, 'the zoomed work_b');
    // Its ancestors stay drawn across the whole width: click one to zoom out to it.
    const parent = await call('node', root.parent);
    assert.equal(parent.name, 'run_split');
    const pr = await call('rect', parent.id);
    assertWidth(pr, width, 'run_split above the zoom');
    await page.mouse.click(box.x + pr.x + pr.w / 2, box.y + pr.y + pr.h / 2);
    assert.equal((await call('root')).name, 'run_split');
    await page.click('#reset-zoom');
    assert.equal((await call('root')).id, 0);
    assert.equal(await call('zoom', id), true);
    assert.equal((await call('root')).id, id);
    await call('reset');
    assert.equal((await call('root')).id, 0);
  });

  it('reports the share of a search, by substring and by /regex/', async () => {
    const [a, b] = [fn('work_a').total_weight, fn('work_b').total_weight];
    const nodes = (await call('find', 'work_a')).length + (await call('find', 'work_b')).length;
    for (const pattern of ['work_', 'WORK_', '/^work_[ab]$/']) {
      const res = await call('search', pattern);
      assert.equal(res.pattern, pattern);
      assert.equal(res.weight, a + b, `${pattern}: matched weight`);
      assert.equal(res.total, cpuTotal(), `${pattern}: total`);
      assert.equal(res.matches, nodes, `${pattern}: frames matched`);
      assert.ok(Math.abs(res.share - (a + b) / cpuTotal()) < 1e-12, `${pattern}: share ${res.share}`);
      assert.deepEqual(await call('searchResult'), res);
    }
    assert.ok((await call('search', '/(/')).error, 'a bad regex gives {error}');
    assert.equal(await call('search', ''), null);
    assert.equal(await call('searchResult'), null);
  });

  it('searches what is typed in the search box and shows the share', async () => {
    const b = fn('work_b').total_weight;
    await page.fill('#search', 'work_b');
    await page.waitForFunction(() => window.nsprofPage.searchResult()?.pattern === 'work_b');
    const res = await call('searchResult');
    assert.equal(res.weight, b);
    const shown = await page.textContent('#search-share');
    const pct = ((100 * b) / cpuTotal()).toFixed(1) + '%';
    assert.ok(shown.includes(pct), `the page shows "${shown}", expected ${pct} in it`);
    await page.fill('#search', '');
    await page.waitForFunction(() => window.nsprofPage.searchResult() === null);
  });

  it('switches event views, each with the report\'s total, keeping the search', async () => {
    for (const v of await call('views')) {
      assert.equal(await call('setView', v.name), true, v.name);
      assert.equal(await call('view'), v.name);
      const root = await call('root');
      assert.equal(root.name, 'all', v.name);
      assert.equal(root.total, reportEvent(rep, v.name).weight, `${v.name}: root total`);
    }
    assert.equal(await call('setView', 'no_such_event'), false);
    await call('setView', 'cpu');
    await call('search', 'malloc');
    assert.equal(await call('setView', 'alloc_bytes'), true);
    const alloc = reportEvent(rep, 'alloc_bytes'), malloc = reportFunction(alloc, 'malloc');
    assert.ok(malloc && malloc.total_weight > 0, 'split_cpu\'s stdout buffer was not seen allocated');
    const res = await call('searchResult');
    assert.equal(res.total, alloc.weight, 'the search is re-applied to the new view');
    assert.equal(res.weight, malloc.total_weight);
    await call('search', '');
    // The tab buttons do the same.
    await page.locator('#views button', { hasText: 'alloc_count' }).click();
    assert.equal(await call('view'), 'alloc_count');
    assert.equal((await call('root')).total, reportEvent(rep, 'alloc_count').weight);
    await page.locator('#views button', { hasText: /^cpu/ }).click();
    assert.equal(await call('view'), 'cpu');
  });

  it('restricts the flame graph to a time range, by API and by dragging on the time line', async () => {
    const tl = doc.events.find((e) => e.name === 'cpu').timeline;
    const half = Math.floor(tl.weights.length / 2);
    assert.ok(half > 0, 'the cpu time line has too few buckets');
    const expected = tl.weights.slice(0, half).reduce((s, w) => s + w, 0);
    const t1 = half * tl.bucket_ns;
    assert.deepEqual(await call('selectRange', 0, t1), { t0: 0, t1 });
    assert.deepEqual(await call('range'), { t0: 0, t1 });
    const root = await call('root');
    assert.equal(root.name, 'all');
    assert.equal(root.total, expected, 'the range\'s total is the time line\'s weight over it');
    assert.ok(root.total > 0 && root.total < cpuTotal(), `range total ${root.total}`);
    await call('clearRange');
    assert.equal(await call('range'), null);
    assert.equal((await call('root')).total, cpuTotal());

    const line = page.locator('#timeline');
    await line.scrollIntoViewIfNeeded();
    const box = await line.boundingBox();
    await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    const r = await call('range');
    assert.ok(r, 'dragging on the time line selected no range');
    const span = doc.duration_ns;
    assert.ok(Math.abs(r.t0 - 0.1 * span) < 0.02 * span && Math.abs(r.t1 - 0.6 * span) < 0.02 * span,
      `dragged 10%..60% of ${span} ns, got ${JSON.stringify(r)}`);
    const dragged = (await call('root')).total;
    assert.ok(dragged > 0 && dragged < cpuTotal(), `range total ${dragged}`);
    await page.click('#clear-range');
    assert.equal(await call('range'), null);
    assert.equal((await call('root')).total, cpuTotal());

    // The zoom follows its call path into the range and back.
    const [id] = await call('find', 'work_b');
    await call('zoom', id);
    await call('selectRange', 0, t1);
    const zoomed = await call('root');
    assert.equal(zoomed.name, 'work_b', 'a range keeps the zoom on the same call path');
    assert.ok(zoomed.total > 0 && zoomed.total < fn('work_b').total_weight, `work_b in range ${zoomed.total}`);
    await call('clearRange');
    assert.equal((await call('root')).name, 'work_b');
    assert.equal((await call('root')).total, fn('work_b').total_weight);
  });

  it('ranks hotspots as the report does, sorts them and zooms on a row click', async () => {
    const rows = await call('hotspots', 'function');
    assert.equal(rows[0].name, cpu.functions_by_self[0].name);
    assert.equal(rows[0].self, cpu.functions_by_self[0].self_weight);
    let compared = 0;
    for (const row of rows) {
      const same = cpu.functions_by_total.filter((f) => f.name === row.name && f.module === row.module);
      if (same.length !== 1) continue; // an inlined and an outlined copy: the report splits them
      assert.equal(row.self, same[0].self_weight, `${row.name} self`);
      assert.equal(row.total, same[0].total_weight, `${row.name} total`);
      assert.equal(row.calls, null, 'cpu has no call counts');
      compared++;
    }
    assert.ok(compared >= 5, `only ${compared} rows compared`);
    const lines = await call('hotspots', 'line');
    assert.equal(lines[0].file, cpu.lines[0].file);
    assert.equal(lines[0].line, cpu.lines[0].line);
    assert.equal(lines[0].self, cpu.lines[0].weight);
    assert.equal(await call('sortHotspots', 'function', 'name', false), true);
    const names = (await call('hotspots', 'function')).map((r) => r.name);
    assert.deepEqual(names, [...names].sort((x, y) => x.localeCompare(y)));
    assert.equal(await call('sortHotspots', 'function', 'no_such_column', true), false);
    await call('sortHotspots', 'function', 'self', true);
    await page.locator('#by-function tbody tr', { hasText: 'work_a' }).first().click();
    assert.equal((await call('root')).name, 'work_a');
    await call('reset');
    // Calls come from the companion count view: alloc_bytes' from alloc_count.
    await call('setView', 'alloc_bytes');
    const malloc = (await call('hotspots', 'function')).find((r) => r.name === 'malloc');
    assert.ok(malloc, 'no malloc row in the alloc_bytes table');
    assert.equal(malloc.calls, reportFunction(reportEvent(rep, 'alloc_count'), 'malloc').total_weight);
  });

  it('lists the report\'s recommendations and opens one on its node', async () => {
    const recs = await call('recommendations');
    assert.ok(Array.isArray(recs));
    assert.deepEqual(recs.map((r) => [r.rule, r.function]), rep.recommendations.map((r) => [r.rule, r.function]));
    const first = rep.recommendations.findIndex((r) => r.event === 'cpu' && r.function);
    assert.ok(first >= 0, 'split_cpu gave no cpu finding');
    await call('setView', 'alloc_bytes');
    const id = await call('openFinding', first);
    assert.equal(typeof id, 'number');
    assert.equal(await call('view'), 'cpu');
    assert.equal((await call('root')).name, rep.recommendations[first].function);
    await call('reset');
    await page.locator('#recs li').nth(first).click();
    assert.equal((await call('root')).name, rep.recommendations[first].function);
    for (const [i, r] of rep.recommendations.entries()) {
      if (!r.function || !rep.events.some((e) => e.name === r.event)) continue;
      await call('openFinding', i);
      assert.equal(await call('view'), r.event, `finding ${i} (${r.rule}): its view`);
      assert.equal((await call('root')).name, r.function, `finding ${i} (${r.rule}): its node`);
    }
  });

  it('inverts the tree with the same root and total, the leaves first', async () => {
    assert.equal(await call('setInverted', true), true);
    assert.equal(await call('inverted'), true);
    assert.equal(await page.isChecked('#inverted'), true);
    const root = await call('root');
    assert.equal(root.name, 'all');
    assert.equal(root.total, cpuTotal());
    const [id] = await call('find', 'work_b');
    const node = await call('node', id);
    assert.equal(node.depth, 1, 'work_b, a leaf, is on the first level');
    assert.equal(node.total, fn('work_b').self_weight);
    await call('setInverted', false);
    assert.equal(await call('inverted'), false);
    assert.equal((await call('node', (await call('find', 'work_b'))[0])).depth > 1, true);
  });

  it('shows a function\'s sandwich, by API and by double-click', async () => {
    assert.equal(await call('sandwich', 'work_b'), true);
    assert.equal(await call('sandwichOf'), 'work_b');
    const root = await call('root');
    assert.equal(root.name, 'work_b', 'the callees pane is rooted at the function');
    assert.equal(root.total, fn('work_b').total_weight);
    assert.equal(await page.textContent('#sandwich-name'), 'work_b');
    assert.equal(await call('sandwich', null), true);
    assert.equal(await call('sandwichOf'), null);
    assert.equal(await call('sandwich', 'no_such_function'), false);
    const [id] = await call('find', 'work_a');
    // Scrolled into view first: how far down the page the graph sits depends on how many
    // recommendations the profile has (a mouse event outside the viewport reaches nothing).
    await page.locator('#flame').scrollIntoViewIfNeeded();
    const box = await page.locator('#flame').boundingBox();
    const r = await call('rect', id);
    await page.mouse.dblclick(box.x + r.x + r.w / 2, box.y + r.y + r.h / 2);
    assert.equal(await call('sandwichOf'), 'work_a');
    await page.click('#sandwich-close');
    assert.equal(await call('sandwichOf'), null);
    await call('reset');
  });

  it('backs out with Escape (sandwich, then zoom) and focuses the search with /', async () => {
    const [id] = await call('find', 'work_b');
    await call('zoom', id);
    await call('sandwich', 'work_a');
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await page.keyboard.press('Escape');
    assert.equal(await call('sandwichOf'), null, 'Escape closes the sandwich first');
    await call('zoom', id);
    assert.equal((await call('root')).name, 'work_b');
    await page.keyboard.press('Escape');
    assert.equal((await call('root')).id, 0, 'then resets the zoom');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
    await page.keyboard.type('work_a');
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement.id), '', 'Escape leaves the search box');
    await page.evaluate(() => window.nsprofPage.search(''));
  });

  it('colours by module or kind', async () => {
    assert.equal(await call('setColorMode', 'module'), true);
    assert.equal(await call('colorMode'), 'module');
    assert.equal(await call('setColorMode', 'rainbow'), false);
    assert.equal(await call('setColorMode', 'kind'), true);
    assert.equal(await call('colorMode'), 'kind');
  });

  it('shows a tooltip on hover; screenshot', async (t) => {
    await call('reset');
    const [id] = await call('find', 'work_b');
    const box = await page.locator('#flame').boundingBox();
    const r = await call('rect', id);
    await page.mouse.move(box.x + r.x + r.w / 2, box.y + r.y + r.h / 2);
    const tip = await page.textContent('#tooltip');
    assert.ok(tip.startsWith('work_b'), `tooltip: ${tip}`);
    const shot = path.join(outputDir(), 'split_cpu.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  });

  it('made no request but the page itself, logged no error and opened no dialog', async () => {
    assert.deepEqual(await page.evaluate(() => window.nsprofPage.errors), []);
    assert.deepEqual(await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name)), []);
    assert.deepEqual(watch.foreignRequests, [], describeWatch(watch));
    assert.deepEqual(watch.consoleErrors, [], describeWatch(watch));
    assert.deepEqual(watch.pageErrors, [], describeWatch(watch));
    assert.deepEqual(watch.dialogs, [], describeWatch(watch));
    assert.deepEqual(watch.popups, [], describeWatch(watch));
    assert.ok(watch.requests.length >= 1, 'the page\'s own load was not seen: the request watch is blind');
  });

  it('draws and hit-tests in CSS pixels on a high-density screen', async () => {
    const hi = await openPage(browser, html, { deviceScaleFactor: 2 });
    try {
      const p = hi.page;
      const dims = await p.evaluate(() => {
        const c = window.nsprofPage.canvas();
        return { css: c.getBoundingClientRect().width, px: c.width };
      });
      assert.equal(dims.px, Math.round(dims.css * 2), 'the canvas is drawn at the device\'s resolution');
      const [id] = await api(p, 'find', 'work_b');
      const root = await api(p, 'root');
      const r = await api(p, 'rect', id);
      assertWidth(r, (dims.css * (await api(p, 'node', id)).total) / root.total, 'work_b at 2x');
      await p.locator('#flame').scrollIntoViewIfNeeded();
      const box = await p.locator('#flame').boundingBox();
      await p.mouse.click(box.x + r.x + r.w / 2, box.y + r.y + r.h / 2);
      assert.equal((await api(p, 'root')).name, 'work_b');
      assert.deepEqual(hi.watch.consoleErrors.concat(hi.watch.pageErrors, hi.watch.foreignRequests), [], describeWatch(hi.watch));
    } finally {
      await hi.context.close();
    }
  });
});
