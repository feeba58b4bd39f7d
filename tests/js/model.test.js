// model.test.js — the flame page's data logic (report/flame/model.js) on documents whose
// answers are known by construction (fixtures.js). Run: node --test tests/js/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const M = require('../../report/flame/model.js');
const { docFromStacks, randomStacks } = require('./fixtures.js');

// main 100 = a 30 (a->b 20 self, a self 10) + c 60 (c->a 15 self, c self 45) + main self 10
const SMALL = [
  [['main', 'a', 'b'], 20, 0], [['main', 'a'], 10, 1], [['main', 'c', 'a'], 15, 2], [['main', 'c'], 45, 3], [['main'], 10, 3],
];

function small() {
  return M.decodeDocument(docFromStacks(SMALL));
}

function path(doc, t, id) {
  const names = [];
  for (let i = id; i > 0; i = t.parent[i]) names.unshift(M.frameName(doc, t.frame[i]));
  return names.join(';');
}

// Every root-to-node path with its total: a tree's meaning independent of its ids.
function totals(doc, t) {
  const out = {};
  for (let i = 1; i < t.n; i++) out[path(doc, t, i)] = t.total[i];
  return out;
}

test('decodes the columns into a pre-order tree with parents and subtree ends', () => {
  const doc = small(), t = doc.views[0].tree;
  assert.equal(t.n, 6);
  assert.equal(t.total[0], 100);
  assert.deepEqual(totals(doc, t), { main: 100, 'main;c': 60, 'main;c;a': 15, 'main;a': 30, 'main;a;b': 20 });
  assert.equal(M.frameName(doc, t.frame[2]), 'c', 'heaviest child first');
  for (let i = 0; i < t.n; i++) {
    let sum = t.self[i];
    for (let j = i + 1; j < t.end[i]; j++) if (t.parent[j] === i) sum += t.total[j];
    assert.equal(sum, t.total[i], 'node ' + i + ' total is self + children');
  }
});

test('the delta-coded cell nodes are decoded to node ids', () => {
  const doc = small(), v = doc.views[0], t = v.tree;
  const perNode = new Float64Array(t.n);
  for (let i = 0; i < v.timeline.node.length; i++) perNode[v.timeline.node[i]] += v.timeline.weight[i];
  assert.deepEqual(Array.from(perNode), Array.from(t.self));
});

test('damaged documents are refused with the reason, not drawn half-understood', () => {
  const cases = [
    [(d) => (d.version = 2), /version 2/],
    [(d) => (d.events[0].nodes.depth[2] = 5), /depth/],
    [(d) => (d.events[0].nodes.frame[1] = 999), /frame 999/],
    [(d) => d.events[0].nodes.self.pop(), /self has/],
    [(d) => (d.frames.name[0] = 10 ** 6), /names string/],
    [(d) => (d.events[0].timeline.cells.node[0] = 10 ** 6), /cell 0/],
    [(d) => (d.events[0].nodes.total[0] = 'x'), /not a number/],
    [(d) => delete d.strings, /strings/],
  ];
  for (const [damage, why] of cases) {
    const d = docFromStacks(SMALL);
    damage(d);
    assert.throws(() => M.decodeDocument(d), why);
  }
  assert.throws(() => M.decodeDocument(null), /not a JSON object/);
});

test('a time range rebuilds the tree from that range\'s cells only', () => {
  const doc = small(), v = doc.views[0];
  const r = M.rangeTree(v, 0, 2); // buckets 0 and 1: a->b 20, a 10
  assert.deepEqual(totals(doc, r), { main: 30, 'main;a': 30, 'main;a;b': 20 });
  const all = M.rangeTree(v, 0, 4);
  assert.deepEqual(totals(doc, all), totals(doc, v.tree));
  assert.equal(M.rangeTree(v, 5, 6).n, 1, 'an empty range leaves the root');
});

test('bucketsOf covers the asked times', () => {
  const tl = { bucketNs: 1000, weights: new Float64Array(4) };
  assert.deepEqual(M.bucketsOf(tl, 0, 4000), [0, 4]);
  assert.deepEqual(M.bucketsOf(tl, 1500, 2500), [1, 3]);
  assert.deepEqual(M.bucketsOf(tl, 3999, 99999), [3, 4]);
  assert.deepEqual(M.bucketsOf(tl, 100, 100), [0, 1], 'at least one bucket');
});

test('the inverted tree puts where the weight is spent first and keeps the total', () => {
  const doc = small(), inv = M.invertedTree(doc.views[0].tree);
  assert.equal(inv.total[0], 100);
  assert.deepEqual(totals(doc, inv), {
    c: 45, 'c;main': 45, a: 25, 'a;main': 10, 'a;c': 15, 'a;c;main': 15, b: 20, 'b;a': 20, 'b;a;main': 20, main: 10,
  });
});

test('a sandwich merges a function\'s callers and callees from everywhere it appears', () => {
  const doc = small(), t = doc.views[0].tree, a = M.frameByName(doc, 'a');
  const sw = M.sandwichTrees(t, a);
  assert.equal(sw.callers.total[0], 45);
  assert.deepEqual(totals(doc, sw.callers), { main: 30, c: 15, 'c;main': 15 });
  assert.equal(sw.callees.total[0], 45);
  assert.equal(sw.callees.self[0], 25);
  assert.deepEqual(totals(doc, sw.callees), { b: 20 });
});

test('recursion is counted once in a sandwich, in search and in function totals', () => {
  const doc = M.decodeDocument(docFromStacks([[['main', 'r', 'r', 'r', 'x'], 10], [['main', 'r'], 5], [['main', 'y'], 5]]));
  const t = doc.views[0].tree, r = M.frameByName(doc, 'r');
  assert.deepEqual(M.outermost(t, r).length, 1);
  const sw = M.sandwichTrees(t, r);
  assert.equal(sw.callers.total[0], 15);
  assert.deepEqual(totals(doc, sw.callees), { r: 10, 'r;r': 10, 'r;r;x': 10 });
  const s = M.searchShare(t, M.matcher(doc, 'r'));
  assert.equal(s.weight, 15);
  assert.equal(s.matches, 3);
  const ft = M.frameTotals(t, doc.frames.n);
  assert.equal(ft.total[r], 15);
  assert.equal(ft.self[r], 5);
});

test('search: substring without case, /regex/ with flags, a bad expression throws', () => {
  const doc = M.decodeDocument(docFromStacks([[['main', 'Alpha', 'beta'], 30], [['main', 'alphabet'], 70]]));
  const t = doc.views[0].tree;
  assert.equal(M.searchShare(t, M.matcher(doc, 'ALPHA')).share, 1);
  assert.equal(M.searchShare(t, M.matcher(doc, 'alpha')).weight, 100);
  assert.equal(M.searchShare(t, M.matcher(doc, '/^alpha$/i')).weight, 30);
  assert.equal(M.searchShare(t, M.matcher(doc, '/^beta$/')).share, 0.3);
  assert.equal(M.searchShare(t, M.matcher(doc, 'nothing')).matches, 0);
  assert.throws(() => M.matcher(doc, '/(/'), SyntaxError);
});

test('hostile names are data: a search for markup matches it as text', () => {
  const doc = M.decodeDocument(docFromStacks([[['main', '<script>alert(1)</script>'], 1], [['main', 'operator<<'], 3]]));
  assert.equal(M.searchShare(doc.views[0].tree, M.matcher(doc, '<<')).weight, 3);
  assert.deepEqual(M.functionRows(doc, doc.views[0], doc.views[0].tree).map((r) => r.name).sort(),
                   ['<script>alert(1)</script>', 'main', 'operator<<']);
});

test('function rows: self, total and calls from the companion count view', () => {
  const bytes = docFromStacks([[['main', 'alloc_here'], 4096], [['main', 'alloc_there'], 64]], { event: 'alloc_bytes', unit: 'bytes' });
  const count = docFromStacks([[['main', 'alloc_there'], 1000], [['main', 'alloc_here'], 1]], { event: 'alloc_count', unit: 'count' });
  // One frame table for both views: rebuild the count view over the bytes document's frames.
  const names = count.frames.name.map((s) => count.strings[s]);
  count.events[0].nodes.frame = count.events[0].nodes.frame.map((f) => (f < 0 ? f : bytes._fid(names[f])));
  bytes.events.push(count.events[0]);
  const doc = M.decodeDocument(bytes);
  const rows = M.sortRows(M.functionRows(doc, doc.views[0], doc.views[0].tree), 'self', true);
  assert.deepEqual(rows.map((r) => [r.name, r.self, r.total, r.calls]),
                   [['alloc_here', 4096, 4096, 1], ['alloc_there', 64, 64, 1000], ['main', 0, 4160, 1001]]);
  assert.equal(M.functionRows(doc, doc.views[1], doc.views[1].tree)[0].calls !== null, true);
  const cpu = M.decodeDocument(docFromStacks(SMALL));
  assert.equal(M.functionRows(cpu, cpu.views[0], cpu.views[0].tree)[0].calls, null, 'no calls for cpu');
});

test('line rows sum a view\'s lines per function, file and line', () => {
  const d = docFromStacks(SMALL, { frames: { b: { file: 'b.c', line: 7 } } });
  const b = d._fid('b'), file = d.strings.indexOf('b.c');
  d.events[0].lines = { frame: [b, b, b], file: [file, file, file], line: [7, 9, 7], self: [12, 3, 5] };
  const doc = M.decodeDocument(d);
  const rows = M.sortRows(M.lineRows(doc, doc.views[0]), 'self', true);
  assert.deepEqual(rows.map((r) => [r.name, r.file, r.line, r.self]), [['b', 'b.c', 7, 17], ['b', 'b.c', 9, 3]]);
});

test('sortRows sorts by any column either way, ties by self then name', () => {
  const rows = [{ name: 'b', self: 1, total: 5, line: 0 }, { name: 'a', self: 2, total: 5, line: 0 }, { name: 'c', self: 3, total: 1, line: 0 }];
  assert.deepEqual(M.sortRows(rows.slice(), 'total', true).map((r) => r.name), ['a', 'b', 'c']);
  assert.deepEqual(M.sortRows(rows.slice(), 'name', false).map((r) => r.name), ['a', 'b', 'c']);
  assert.deepEqual(M.sortRows(rows.slice(), 'self', false).map((r) => r.name), ['b', 'a', 'c']);
});

test('findNodes lists a function\'s nodes heaviest first', () => {
  const doc = small(), t = doc.views[0].tree;
  assert.deepEqual(M.findNodes(doc, t, 'a').map((id) => t.total[id]), [30, 15]);
  assert.deepEqual(M.findNodes(doc, t, 'nope'), []);
});

test('properties on random trees: derived trees keep the weight and the pre-order', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const doc = M.decodeDocument(docFromStacks(randomStacks(seed, 300, ['f', 'g', 'h', 'k', 'm'])));
    const v = doc.views[0], t = v.tree;
    const inv = M.invertedTree(t);
    assert.equal(inv.total[0], t.total[0]);
    assert.deepEqual(totals(doc, M.rangeTree(v, 0, 8)), totals(doc, t));
    let parts = 0;
    for (let b = 0; b < 8; b++) parts += M.rangeTree(v, b, b + 1).total[0];
    assert.equal(parts, t.total[0], 'ranges partition the weight');
    for (const name of ['f', 'g']) {
      const f = M.frameByName(doc, name), sw = M.sandwichTrees(t, f);
      assert.equal(sw.callers.total[0], sw.callees.total[0]);
      assert.equal(sw.callees.total[0], M.frameTotals(t, doc.frames.n).total[f]);
      assert.equal(sw.callees.total[0], M.searchShare(t, M.matcher(doc, '/^' + name + '$/')).weight);
    }
    for (const tree of [t, inv]) {
      for (let i = 1; i < tree.n; i++) {
        assert.ok(tree.parent[i] < i && tree.depth[i] === tree.depth[tree.parent[i]] + 1);
        const next = tree.end[i];
        if (next < tree.n && tree.parent[next] === tree.parent[i]) assert.ok(tree.total[next] <= tree.total[i], 'heaviest first');
      }
    }
  }
});
