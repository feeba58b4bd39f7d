// hostile_names.test.mjs — the flame-graph page of a program whose every name is HTML: it
// is built at test time in a directory named `<img src=x onerror=...>`, from a source file
// named `"><script>...<!--&amp;.cpp`, into an executable named `<svg onload=...>`, and burns
// CPU in `operator<<`, in `burn_tpl<script>` and, when gcc and gas accept a quoted asm
// label, in a C function whose symbol is `<script>...</script>`. Every payload would set
// window.__pwned and open an alert if it ever ran. In Chromium the page must show those
// names verbatim (through nsprofPage and as text in the DOM), run none of them, open no
// dialog and grow no element from them while the user hovers frames, searches, opens
// sandwiches and tables. The same is checked with the data embedded as escaped JSON
// (data-encoding="json", docs/FLAME_DATA.md), the form the writer uses for tiny profiles.
//
//   cd tests/browser && NSPROF=build/nsprof node --test hostile_names.test.mjs
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { WORKLOADS, api, describeWatch, launchChromium, nsprof, openPage, outputDir, pageData, report, reportEvent, run,
  tempDir, writePage } from './harness.mjs';

const DIR_NAME = '<img src=x onerror=window.__pwned=1;alert(1)>';
const SOURCE_NAME = '"><script>window.__pwned=2;alert(2)<!--&amp;.cpp';
const EXE_NAME = '<svg onload=window.__pwned=3;alert(3)>';
const LABEL = '<script>window.__pwned=4;alert(4)</script>';
const OPERATOR = 'operator<<(Evil&, unsigned long)';
const TEMPLATE = 'unsigned long burn_tpl<script>(unsigned long)';

// The asm label is compiled without -g, so that the ELF symbol, not DWARF's C name, names it;
// hidden, so the call needs no PLT (gas refuses `"quoted"@PLT`).
const LABEL_SOURCE = `#include <stdint.h>
uint64_t evil_label(uint64_t n) __asm__(${JSON.stringify(JSON.stringify(LABEL))});
uint64_t evil_label(uint64_t n) {
  uint64_t a = n;
  for (uint64_t i = 0; i < n; i++) a = a * 6364136223846793005ull + i;
  return a;
}
`;

const MAIN_SOURCE = `#include <cstdint>
#include <cstdlib>
#include <ctime>
#ifdef WITH_LABEL
extern "C" __attribute__((visibility("hidden"))) uint64_t evil_label(uint64_t n) __asm__(${JSON.stringify(JSON.stringify(LABEL))});
#endif
struct Evil { uint64_t acc; };
struct script {};
static volatile uint64_t sink;
static double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}
__attribute__((noinline)) Evil &operator<<(Evil &e, uint64_t n) {
  for (uint64_t i = 0; i < n; i++) e.acc = e.acc * 6364136223846793005ull + i;
  return e;
}
template <class T> __attribute__((noinline)) uint64_t burn_tpl(uint64_t n) {
  uint64_t a = sizeof(T);
  for (uint64_t i = 0; i < n; i++) a = a * 2862933555777941757ull + i;
  return a;
}
int main(int argc, char **argv) {
  double end = cpu_seconds() + (argc > 1 ? atof(argv[1]) : 0.5);
  Evil e{1};
  uint64_t acc = 0;
  while (cpu_seconds() < end) {
    e << 200000;
    acc += burn_tpl<script>(200000);
#ifdef WITH_LABEL
    acc += evil_label(200000);
#endif
  }
  sink = acc + e.acc;
  return 0;
}
`;

// Builds the program; returns whether the asm-labelled function is in it.
function buildHostile(dir) {
  writeFileSync(path.join(dir, SOURCE_NAME), MAIN_SOURCE);
  writeFileSync(path.join(dir, 'label.c'), LABEL_SOURCE);
  const exe = path.join(dir, EXE_NAME);
  let label = true;
  try {
    run('gcc', ['-O1', '-c', '-o', path.join(dir, 'label.o'), path.join(dir, 'label.c')]);
    run('g++', ['-g', '-O1', '-DWITH_LABEL', '-o', exe, path.join(dir, SOURCE_NAME), path.join(dir, 'label.o')]);
  } catch (e) {
    label = false;
    run('g++', ['-g', '-O1', '-o', exe, path.join(dir, SOURCE_NAME)]);
  }
  return { exe, label };
}

// The same page with its data as escaped JSON instead of deflate+base64 (FLAME_DATA.md).
function jsonVariant(html, out) {
  const { doc } = pageData(html);
  const text = JSON.stringify(doc).replace(/[<>&]/g, (c) => '\\u00' + c.charCodeAt(0).toString(16));
  const page = readFileSync(html, 'utf8').replace(
    /(<script type="application\/octet-stream" id="nsprof-data" data-encoding=")[a-z0-9-]+(">)[^<]*(<\/script>)/,
    (_, open, mid, close) => open + 'json' + mid + text + close);
  assert.ok(page.includes('data-encoding="json"'), 'could not re-encode the data element');
  writeFileSync(out, page, { mode: 0o600 });
  return out;
}

const DANGEROUS = ['img', 'svg', 'iframe', 'object', 'embed', 'base', 'link', 'meta', 'form', 'a', 'audio', 'video', 'script', 'style'];

function countElements(page) {
  return page.evaluate((tags) => {
    const out = {};
    for (const t of tags) out[t] = document.getElementsByTagName(t).length;
    out.onAttributes = [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => /^on/i.test(a.name))).length;
    return out;
  }, DANGEROUS);
}

describe('the flame page of a program with hostile names', () => {
  let browser, work, hostileDir, html, rep, withLabel, names, nsp, exe;

  before(async () => {
    browser = await launchChromium();
    work = tempDir('nsprof-browser-hostile-');
    hostileDir = path.join(work, DIR_NAME);
    mkdirSync(hostileDir);
    const built = buildHostile(hostileDir);
    withLabel = built.label;
    exe = built.exe;
    nsp = path.join(work, 'hostile.nsp');
    nsprof(['record', '-o', nsp, '--', built.exe, '0.6'], { cwd: work });
    rep = report(nsp);
    html = writePage(nsp, path.join(outputDir(), 'hostile.html'));
    names = [OPERATOR, TEMPLATE].concat(withLabel ? [LABEL] : []);
  });

  after(async () => {
    if (browser) await browser.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('built the program with every hostile name the toolchain accepts', (t) => {
    if (!withLabel) t.diagnostic(`gcc/gas refused the asm label ${LABEL}: that name is not tested`);
    const cpu = reportEvent(rep, 'cpu');
    for (const name of names)
      assert.ok(cpu.functions_by_total.some((f) => f.name === name), `the report has no ${name}: ${cpu.functions_by_total.map((f) => f.name)}`);
  });

  for (const encoding of ['deflate-base64', 'json']) {
    it(`shows the names verbatim and runs none of them (${encoding})`, async (t) => {
      const file = encoding === 'json' ? jsonVariant(html, path.join(outputDir(), 'hostile-json.html')) : html;
      assert.equal(pageData(file).encoding, encoding);
      const { page, watch, context } = await openPage(browser, file);
      try {
        await checkHostilePage(t, page, watch, encoding);
        assert.deepEqual(watch.foreignRequests, [], describeWatch(watch));
        assert.deepEqual(watch.consoleErrors, [], describeWatch(watch));
        assert.deepEqual(watch.pageErrors, [], describeWatch(watch));
        assert.deepEqual(watch.popups, [], describeWatch(watch));
      } finally {
        await context.close();
      }
    });
  }

  // The differential flame graph (`nsprof diff -o`) shows the same names in its own places:
  // the tooltip with before and after, the diff tables, the vanished table (the hostile run
  // against a run of another program, where every hostile frame vanished) and the before
  // shape it opens.
  it('shows the names verbatim in the diff page and runs none of them', async (t) => {
    const again = path.join(work, 'hostile2.nsp'), other = path.join(work, 'other.nsp');
    nsprof(['record', '-o', again, '--', exe, '0.3'], { cwd: work });
    nsprof(['record', '-o', other, '--', path.join(WORKLOADS, 'diff_after'), '1'], { cwd: work });
    const same = path.join(outputDir(), 'hostile-diff.html'), gone = path.join(outputDir(), 'hostile-diff-vanished.html');
    nsprof(['diff', '--force', '-o', same, nsp, again], { cwd: work });
    nsprof(['diff', '--force', '-o', gone, nsp, other], { cwd: work });
    for (const file of [same, gone]) {
      const { page, watch, context } = await openPage(browser, file);
      try {
        const call = (method, ...args) => api(page, method, ...args);
        const before = await countElements(page);
        const seen = [];
        const box = await page.locator('#flame').boundingBox();
        if (file === gone) {
          await page.locator('#vanished tbody tr').first().waitFor();
          const cells = await page.locator('#vanished td.name').allTextContents();
          for (const name of names) assert.ok(cells.includes(name), `${name} is not a cell of the vanished table: ${cells}`);
          for (const row of (await call('hotspots', 'vanished')).filter((r) => names.includes(r.name))) {
            await call('openVanished', row.node);
            seen.push([row.name, (await call('root')).name]);
          }
        }
        for (const name of names) {
          const ids = await call('find', name);
          assert.ok(ids.length, `find(${JSON.stringify(name)}) found nothing in ${path.basename(file)}`);
          await call('zoom', ids[0]);
          const r = await call('rect', ids[0]);
          await page.mouse.move(box.x + r.x + r.w / 2, box.y + r.y + r.h / 2);
          seen.push([name, await page.locator('#tooltip .tt-name').textContent()]);
          assert.match(await page.locator('#tooltip').innerText(), /before .* → after /);
          await call('search', name);
          if (await call('sandwich', name)) seen.push([name, await page.textContent('#sandwich-name')]);
          await call('sandwich', null);
          await call('search', '');
        }
        await call('setShape', 'after');
        await page.locator('#by-function tbody tr').first().waitFor();
        const cells = await page.locator('#by-function td.name').allTextContents();
        if (file === same) for (const name of names) assert.ok(cells.includes(name), `${name} is not in the diff's function table`);
        for (const [name, shown] of seen) assert.equal(shown, name, 'shown verbatim');
        assert.deepEqual(watch.dialogs, [], 'a dialog opened: ' + describeWatch(watch));
        assert.equal(await page.evaluate(() => window.__pwned), undefined, 'a payload from a name ran');
        assert.deepEqual(await countElements(page), before, 'elements appeared while names were shown');
        assert.ok((await page.textContent('#title')).includes(EXE_NAME), 'the title names the program verbatim');
        assert.deepEqual(watch.foreignRequests, [], describeWatch(watch));
        assert.deepEqual(watch.consoleErrors, [], describeWatch(watch));
        assert.deepEqual(watch.pageErrors, [], describeWatch(watch));
        const shot = path.join(outputDir(), path.basename(file, '.html') + '.png');
        await page.screenshot({ path: shot, fullPage: true });
        t.diagnostic(`screenshot: ${shot}`);
      } finally {
        await context.close();
      }
    }
  });

  // First everything that puts a name on screen (hovering each frame, searching, sandwiches,
  // tables, findings, module colours, inverted), noting what was shown; then whether any of
  // it ran or grew an element; then whether what was shown was the names, verbatim.
  async function checkHostilePage(t, page, watch, encoding) {
    const call = (method, ...args) => api(page, method, ...args);
    const cpu = reportEvent(rep, 'cpu');
    const before = await countElements(page);
    const shown = { nodes: {}, tooltips: {}, searches: {}, typed: {}, sandwiches: {} };
    const canvas = page.locator('#flame');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    for (const name of names) {
      const ids = await call('find', name);
      shown.nodes[name] = ids.length ? await call('node', ids[0]) : null;
      const r = ids.length ? await call('rect', ids[0]) : null;
      if (r) {
        await page.mouse.move(box.x + r.x + r.w / 2, box.y + r.y + r.h / 2);
        shown.tooltips[name] = await page.locator('#tooltip .tt-name').textContent();
      }
      await call('search', '');
      await page.fill('#search', name);
      await page.waitForFunction((n) => window.nsprofPage.searchResult()?.pattern === n, name);
      shown.typed[name] = await call('searchResult');
      shown.searches[name] = await call('search', name);
      if (await call('sandwich', name)) shown.sandwiches[name] = await page.textContent('#sandwich-name');
      await call('sandwich', null);
    }
    await call('search', '');
    await call('setColorMode', 'module');
    await call('setInverted', true);
    await call('setInverted', false);
    await call('setColorMode', 'kind');
    await page.locator('#by-function tbody tr').first().waitFor();
    shown.functionCells = await page.locator('#by-function td.name').allTextContents();
    shown.lineCells = await page.locator('#by-line td.name').allTextContents();
    await page.locator('#by-function tbody tr', { hasText: 'operator<<' }).first().click();
    shown.rowZoom = (await call('root')).name;
    for (let i = 0; i < (await call('recommendations')).length; i++) await call('openFinding', i);
    await call('reset');
    shown.title = await page.textContent('#title');
    shown.documentTitle = await page.title();
    shown.command = await page.textContent('#command');

    // Nothing ran, nothing grew.
    assert.deepEqual(watch.dialogs, [], 'a dialog opened: ' + describeWatch(watch));
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'a payload from a name ran');
    for (const tag of ['img', 'svg', 'iframe', 'object', 'embed', 'base', 'a', 'form'])
      assert.equal(before[tag], 0, `the page has a <${tag}> on load`);
    assert.equal(before.onAttributes, 0, 'an element has an on* attribute on load');
    assert.deepEqual(await countElements(page), before, 'elements appeared while names were shown');
    assert.deepEqual(await page.evaluate(() => window.nsprofPage.errors), []);

    // The names, exactly as the report has them.
    for (const name of names) {
      const node = shown.nodes[name], f = cpu.functions_by_total.find((x) => x.name === name);
      assert.ok(node, `find(${JSON.stringify(name)}) found nothing`);
      assert.equal(node.name, name);
      assert.equal(node.module, EXE_NAME);
      assert.equal(node.file, f.file, `${name}: file`);
      assert.equal(node.total, f.total_weight, `${name}: total`);
      assert.equal(shown.tooltips[name], name, 'the tooltip shows the name as text');
      assert.equal(shown.searches[name].weight, f.total_weight, `search ${name}`);
      assert.deepEqual(shown.typed[name], shown.searches[name], `${name} typed in the search box`);
      assert.equal(shown.sandwiches[name], name, 'the sandwich bar shows the name as text');
      assert.ok(shown.functionCells.includes(name), `${name} is not a cell of the function table: ${shown.functionCells}`);
    }
    const op = shown.nodes[OPERATOR];
    assert.ok(op.file.includes(DIR_NAME) && op.file.endsWith(SOURCE_NAME), `operator<< file: ${op.file}`);
    assert.ok(shown.lineCells.some((c) => c.includes(SOURCE_NAME)), `no line cell names the source file: ${shown.lineCells}`);
    assert.equal(shown.rowZoom, OPERATOR, 'a click on the table row zooms to it');
    assert.equal(shown.title, EXE_NAME);
    assert.ok(shown.documentTitle.startsWith(EXE_NAME), `document.title: ${shown.documentTitle}`);
    assert.equal(shown.command, pageData(html).doc.command);

    const shot = path.join(outputDir(), `hostile-${encoding}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
  }
});
