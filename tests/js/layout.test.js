// layout.test.js — the flame page's geometry and formatting (report/flame/layout.js):
// rectangles proportional to the weights, zoom, hit testing, label fitting, units.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const M = require('../../report/flame/model.js');
const L = require('../../report/flame/layout.js');
const { docFromStacks } = require('./fixtures.js');

// main 1000 = hot 750 (hot->leaf 500) + cold 249 + tiny 1
function doc() {
  return M.decodeDocument(docFromStacks([[['main', 'hot', 'leaf'], 500], [['main', 'hot'], 250], [['main', 'cold'], 249], [['main', 'tiny'], 1]]));
}

function rectOf(d, t, lay, name) {
  const k = lay.id.findIndex((id) => M.frameName(d, t.frame[id]) === name);
  return k < 0 ? null : { x: lay.x[k], w: lay.w[k], level: lay.level[k] };
}

test('widths are proportional to totals and children are laid side by side', () => {
  const d = doc(), t = d.views[0].tree, lay = L.layoutTree(t, 0, 1000);
  assert.deepEqual(rectOf(d, t, lay, 'all'), { x: 0, w: 1000, level: 0 });
  assert.deepEqual(rectOf(d, t, lay, 'main'), { x: 0, w: 1000, level: 1 });
  assert.deepEqual(rectOf(d, t, lay, 'hot'), { x: 0, w: 750, level: 2 });
  assert.deepEqual(rectOf(d, t, lay, 'cold'), { x: 750, w: 249, level: 2 });
  assert.deepEqual(rectOf(d, t, lay, 'tiny'), { x: 999, w: 1, level: 2 });
  assert.deepEqual(rectOf(d, t, lay, 'leaf'), { x: 0, w: 500, level: 3 });
  assert.equal(lay.maxLevel, 3);
});

test('frames under half a pixel are not drawn, nor their subtrees', () => {
  const d = doc(), t = d.views[0].tree, lay = L.layoutTree(t, 0, 400);
  assert.equal(rectOf(d, t, lay, 'tiny'), null);
  assert.ok(rectOf(d, t, lay, 'cold'));
  assert.equal(lay.id.length, 5);
});

test('zooming spans the zoom root over the width and keeps its ancestors full width', () => {
  const d = doc(), t = d.views[0].tree, hot = M.findNodes(d, t, 'hot')[0];
  const lay = L.layoutTree(t, hot, 600);
  assert.deepEqual(rectOf(d, t, lay, 'all'), { x: 0, w: 600, level: 0 });
  assert.deepEqual(rectOf(d, t, lay, 'main'), { x: 0, w: 600, level: 1 });
  assert.deepEqual(rectOf(d, t, lay, 'hot'), { x: 0, w: 600, level: 2 });
  assert.deepEqual(rectOf(d, t, lay, 'leaf'), { x: 0, w: 400, level: 3 });
  assert.equal(rectOf(d, t, lay, 'cold'), null, 'siblings of the zoom root are not drawn');
});

test('hit testing finds the rectangle at a point and level', () => {
  const d = doc(), t = d.views[0].tree, lay = L.layoutTree(t, 0, 1000);
  const name = (x, level) => {
    const k = L.hitTest(lay, x, level);
    return k < 0 ? null : M.frameName(d, t.frame[lay.id[k]]);
  };
  assert.equal(name(10, 2), 'hot');
  assert.equal(name(749.9, 2), 'hot');
  assert.equal(name(750, 2), 'cold');
  assert.equal(name(600, 3), null);
  assert.equal(name(499, 3), 'leaf');
  assert.equal(name(5, 9), null);
});

test('a zero-weight tree still draws its root', () => {
  const t = M.finishTree(Int32Array.of(-1), Int32Array.of(0), Float64Array.of(0), Float64Array.of(0));
  const lay = L.layoutTree(t, 0, 300);
  assert.deepEqual([lay.id, lay.w], [[0], [300]]);
});

test('labels are cut with an ellipsis to fit, or dropped', () => {
  const mono = (s) => s.length * 10;
  assert.equal(L.fitLabel('function', 80, mono), 'function');
  assert.equal(L.fitLabel('function', 79, mono), 'functi…');
  assert.equal(L.fitLabel('function', 30, mono), 'fu…');
  assert.equal(L.fitLabel('function', 29, mono), '');
  assert.equal(L.fitLabel('<script>', 50, mono), '<scr…', 'markup is cut like any text');
});

test('values are written in their unit', () => {
  assert.equal(L.formatValue(1.5e9, 'ns'), '1.5 s');
  assert.equal(L.formatValue(230e6, 'ns'), '230 ms');
  assert.equal(L.formatValue(12345, 'ns'), '12.35 µs');
  assert.equal(L.formatValue(999, 'ns'), '999 ns');
  assert.equal(L.formatValue(12 * 1048576, 'bytes'), '12 MiB');
  assert.equal(L.formatValue(1536, 'bytes'), '1.5 KiB');
  assert.equal(L.formatValue(100, 'bytes'), '100 B');
  assert.equal(L.formatValue(3.4e6, 'count'), '3.4M');
  assert.equal(L.formatValue(12345, 'count'), '12.3k');
  assert.equal(L.formatShare(1, 3), '33.3%');
  assert.equal(L.formatShare(1, 400), '0.25%');
  assert.equal(L.formatShare(1, 1e6), '<0.01%');
  assert.equal(L.formatShare(0, 0), '0%');
});

test('colours: stable per module, distinct per kind, search dims the rest', () => {
  assert.equal(L.hashString('libc.so.6'), L.hashString('libc.so.6'));
  const c = (kind) => L.frameColor('kind', kind, 'm', 'same', false, false);
  assert.equal(new Set(['user', 'library', 'kernel', 'inlined', 'pseudo'].map(c)).size, 5);
  assert.equal(L.frameColor('module', 'user', 'libz.so', 'f', false, false), L.frameColor('module', 'library', 'libz.so', 'f', false, false));
  assert.match(L.frameColor('kind', 'user', 'm', 'f', false, true), /hsl\(0, 0%/);
  assert.match(L.frameColor('kind', 'user', 'm', 'f', true, true), /hsl\(300/);
});

test('a value just under the next unit is written in it', () => {
  assert.equal(L.formatValue(999999999, 'ns'), '1 s');
  assert.equal(L.formatValue(999.9e3, 'ns'), '1 ms');
  assert.equal(L.formatValue(0, 'ns'), '0 ns');
});
