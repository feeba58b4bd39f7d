// diff.test.js — the flame page's diff mode (report/flame/diff.js): its statistics against
// the values report/diff/diff_stats.c is tested with (tables, R, the Benjamini–Hochberg
// paper), and its trees and verdicts on diff documents built here from runs of folded
// stacks, so that every before/after number is known by construction.
// Run: node --test tests/js/
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const M = require('../../report/flame/model.js');
const D = require('../../report/flame/diff.js');

function near(actual, expected, tol, what) {
  assert.ok(Math.abs(actual - expected) <= tol, `${what || ''} ${actual} is not ${expected} ± ${tol}`);
}

test('statistics match report/diff/diff_stats.c and the tables', () => {
  near(D.tTwoSidedP(12.706, 1), 0.05, 1e-4, 't(1)');
  near(D.tTwoSidedP(2.228, 10), 0.05, 1e-4, 't(10)');
  near(D.tTwoSidedP(4.032, 5), 0.01, 1e-4, 't(5)');
  near(D.tTwoSidedP(-1.962, 1000), 0.05, 1e-3, 't(1000)');
  near(D.tTwoSidedP(0, 7), 1, 1e-12);
  near(D.welchP([1, 2, 3], [4, 5, 6]), 0.02131, 1e-4, 'R t.test');
  assert.equal(D.welchP([7, 7], [7, 7]), 1);
  assert.equal(D.welchP([7, 7], [9, 9]), 0);
  assert.equal(D.welchP([1], [4, 5, 6]), 1, 'one run is not a sample');
  near(D.shareP(0, 1, 5, 1), 0.0625, 1e-9, '5 of 5');
  near(D.shareP(2, 1, 3, 1), 1, 1e-9, 'the likeliest outcome');
  assert.ok(D.shareP(1000, 10000, 1010, 10000) > 0.8);
  assert.ok(D.shareP(1000, 10000, 1300, 10000) < 1e-6);
  assert.ok(D.shareP(500, 10000, 1000, 20000) > 0.9, 'moved with the whole run');
  assert.equal(D.shareP(0, 10, 0, 10), 1);
  near(D.lgamma(10), Math.log(362880), 1e-12, 'lgamma(10)');
  near(D.lgamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12, 'lgamma(1/2)');
  near(D.erfc(1), 0.157299207050285, 2e-8, 'erfc(1)');
  near(D.erfc(-0.5), 1.520499877813047, 2e-7, 'erfc(-1/2)');
  const p = [0.0201, 0.759, 0.0001, 0.0004, 0.0019, 0.0095, 0.0278, 0.0298, 0.0344, 0.0459, 0.324, 0.4262, 0.5719, 0.6528, 1];
  assert.deepEqual([...D.benjaminiHochberg(p, 0.05)], [0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...D.benjaminiHochberg([NaN, 0.001], 0.05)], [0, 1]);
  assert.deepEqual([...D.benjaminiHochberg([0.001, 0.9, 0.002], 0.05, [1, 0, 0])], [1, 0, 0], 'only the family counts');
});

// A diff document (docs/FLAME_DATA.md) of runs given as folded stacks (count: samples, by
// default the weight): each run
// { side, seconds, stacks: [['main;a;b', weight, count]] }. The union tree is built here with
// plain objects and recursion, a different path from nsprof's C writer and the page.
function diffDoc(runs, opts = {}) {
  const strings = [''], sid = (s) => (strings.includes(s) ? strings.indexOf(s) : strings.push(s) - 1);
  const frames = { name: [], module: [], file: [], line: [], kind: [] }, fids = new Map();
  const fid = (name) => {
    if (!fids.has(name)) {
      fids.set(name, frames.name.length);
      frames.name.push(sid(name)); frames.module.push(sid('app')); frames.file.push(0); frames.line.push(0); frames.kind.push(0);
    }
    return fids.get(name);
  };
  const root = { frame: -1, kids: new Map(), self: runs.map(() => [0, 0]) };
  runs.forEach((r, ri) => {
    for (const [path, w, c] of r.stacks) {
      let n = root;
      for (const name of path.split(';')) {
        const f = fid(name);
        if (!n.kids.has(f)) n.kids.set(f, { frame: f, kids: new Map(), self: runs.map(() => [0, 0]) });
        n = n.kids.get(f);
      }
      n.self[ri][0] += w;
      n.self[ri][1] += c === undefined ? w : c;
    }
  });
  const nb = runs.filter((r) => r.side === 'before').length, na = runs.length - nb;
  const factor = (r) => (opts.normalize === 'duration' ? 1 / r.seconds : 1);
  const sideSelf = (n, side) => runs.reduce((s, r, i) => s + (r.side === side ? (factor(r) * n.self[i][0]) / (side === 'after' ? na : nb) : 0), 0);
  const total = (n, side) => sideSelf(n, side) + [...n.kids.values()].reduce((s, k) => s + total(k, side), 0);
  const nodes = { depth: [], frame: [], self: [], total: [] }, order = [];
  const walk = (n, d) => {
    order.push(n);
    nodes.depth.push(d); nodes.frame.push(n.frame); nodes.self.push(sideSelf(n, 'after')); nodes.total.push(total(n, 'after'));
    [...n.kids.values()].sort((a, b) => total(b, 'after') - total(a, 'after') || total(b, 'before') - total(a, 'before') || a.frame - b.frame)
      .forEach((k) => walk(k, d + 1));
  };
  walk(root, 0);
  const runEntries = runs.map((r, ri) => {
    const node = [], weight = [], count = [];
    let last = 0;
    order.forEach((n, id) => {
      if (!n.self[ri][0] && !n.self[ri][1]) return;
      node.push(node.length ? id - last : id);
      last = id;
      weight.push(n.self[ri][0]);
      count.push(n.self[ri][1]);
    });
    return { factor: factor(r), weight: r.stacks.reduce((s, x) => s + x[1], 0), count: r.stacks.reduce((s, x) => s + (x[2] === undefined ? x[1] : x[2]), 0),
             nodes: { node, weight, count }, lines: { line: [], weight: [], count: [] } };
  });
  return {
    version: 1, title: 'after', command: 'app', producer: 'test', initial_event: 'cpu', duration_ns: 1e9, notes: [], series: [],
    recommendations: [], strings, frames,
    events: [{ name: 'cpu', unit: 'ns', total: nodes.total[0], samples: 1, aggregate: false, nodes, lines: { frame: [], file: [], line: [], self: [] },
               timeline: null, diff: { kind: opts.kind || 'sampled', method: 'test', before_total: total(root, 'before'), runs: runEntries } }],
    diff: { normalize: opts.normalize || 'runs', fdr: 0.05, run_noise: 0.05, before_title: 'before', before_command: 'app',
            runs: runs.map((r) => ({ side: r.side, seconds: r.seconds || 1 })) },
  };
}

function decode(json) {
  const doc = M.decodeDocument(json);
  doc.diff = D.decodeDiff(json, doc);
  return doc;
}

function pathOf(doc, t, id) {
  const names = [];
  for (let i = id; i > 0; i = t.parent[i]) names.unshift(M.frameName(doc, t.frame[i]));
  return names.join(';');
}

// Every drawn node's before and after totals by path.
function byPath(doc, t, umap, cols) {
  const j = D.judgeTree(doc.diff, 0, cols, t, umap), out = {};
  for (let i = 0; i < t.n; i++) out[i ? pathOf(doc, t, i) : 'all'] = [j.bTotal[i], j.aTotal[i], j.noise[i]];
  return out;
}

// before: main 1000 = a 600 (a;b 400) + c 400; after: main 745 = a 300 (a;b 100) + c 395 + d 50
// (d is new). Weights are samples.
const RUNS = [
  { side: 'before', stacks: [['main;a', 200, 200], ['main;a;b', 400, 400], ['main;c', 400, 400]] },
  { side: 'after', stacks: [['main;a', 200, 200], ['main;a;b', 100, 100], ['main;c', 395, 395], ['main;d', 50, 50]] },
];

test('the union tree holds both sides; the before shape and its umap', () => {
  const json = diffDoc(RUNS);
  const doc = decode(json), u = doc.views[0].tree, cols = D.columns(doc.diff, 0, u.n, 'nodes');
  const after = byPath(doc, u, D.identity(u.n), cols);
  assert.deepEqual(Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v.slice(0, 2)])), {
    all: [1000, 745], main: [1000, 745], 'main;a': [600, 300], 'main;a;b': [400, 100], 'main;c': [400, 395], 'main;d': [0, 50],
  });
  const shaped = D.reshape(u, cols.bSelf, cols.aSelf);
  assert.equal(shaped.tree.n, u.n, 'the before shape keeps the after-only branch (zero-wide)');
  assert.equal(shaped.tree.total[0], 1000);
  assert.equal(M.frameName(doc, shaped.tree.frame[shaped.tree.n - 1]), 'd', 'the after-only frame comes last');
  assert.deepEqual(byPath(doc, shaped.tree, shaped.umap, cols), after, 'same numbers in either shape');
});

test('verdicts of one run a side: sampled beyond noise, run noise, appeared', () => {
  const doc = decode(diffDoc(RUNS)), u = doc.views[0].tree, cols = D.columns(doc.diff, 0, u.n, 'nodes');
  const v = byPath(doc, u, D.identity(u.n), cols);
  assert.equal(v['main;a;b'][2], 0, 'b: 400 -> 100 samples is a change');
  assert.equal(v['main;c'][2], 1, 'c: 400 -> 395 is within the run-to-run noise');
  assert.equal(v['main;d'][2], 0, 'd: 0 -> 50 samples appeared');
  assert.equal(v.all[2], 0, 'the whole run: -25.5% is beyond 5%');
  assert.equal(D.color(400, 100, 0, 'b'), 'hsl(215, 80%, 59%)', 'cooler: blue, 75% less');
  assert.equal(D.color(0, 50, 0, 'd'), 'hsl(0, 80%, 48%)', 'something from nothing: full red');
  assert.match(D.color(400, 395, 1, 'c'), /^hsl\(0, 0%, 8\d%\)$/, 'noise: grey');
});

test('few samples are noise however large their relative change', () => {
  const runs = [{ side: 'before', stacks: [['main;x', 2, 2], ['main;y', 1000, 1000]] },
                { side: 'after', stacks: [['main;x', 5, 5], ['main;y', 1000, 1000]] }];
  const doc = decode(diffDoc(runs)), u = doc.views[0].tree, cols = D.columns(doc.diff, 0, u.n, 'nodes');
  const v = byPath(doc, u, D.identity(u.n), cols);
  assert.equal(v['main;x'][2], 1, '2 -> 5 samples: +150% but within sampling noise');
});

test('three runs a side: Welch over the runs, exact counts, measured times', () => {
  const side = (s, b, c) => ({ side: s, stacks: [['main;b', b], ['main;c', c]] });
  const runs = [side('before', 100, 300), side('before', 102, 340), side('before', 98, 260),
                side('after', 60, 310), side('after', 61, 250), side('after', 59, 330)];
  const doc = decode(diffDoc(runs)), u = doc.views[0].tree, cols = D.columns(doc.diff, 0, u.n, 'nodes');
  assert.equal(cols.runs.length, 6);
  const v = byPath(doc, u, D.identity(u.n), cols);
  assert.equal(v['main;b'][2], 0, 'b: 100 -> 60 with a spread of 2: real');
  assert.equal(v['main;c'][2], 1, 'c: 300 -> 297 with a spread of 40: noise');
  near(v['main;b'][0], 100, 1e-9);
  near(v['main;b'][1], 60, 1e-9);
  // One run a side, exact counts: any change is real, none is noise.
  const exact = decode(diffDoc([side('before', 100, 300), side('after', 99, 300)], { kind: 'exact' }));
  const ue = exact.views[0].tree, ve = byPath(exact, ue, D.identity(ue.n), D.columns(exact.diff, 0, ue.n, 'nodes'));
  assert.equal(ve['main;b'][2], 0, 'an exact count that moved by one moved');
  assert.equal(ve['main;c'][2], 1);
  // Measured times, one run a side: noise up to 3 × 5%.
  const measured = decode(diffDoc([side('before', 100, 300), side('after', 110, 200)], { kind: 'measured' }));
  const um = measured.views[0].tree, vm = byPath(measured, um, D.identity(um.n), D.columns(measured.diff, 0, um.n, 'nodes'));
  assert.equal(vm['main;b'][2], 1, '+10% of a measured time is within 15%');
  assert.equal(vm['main;c'][2], 0, '-33% is not');
});

test('per second of run time: each run weighs by its own duration', () => {
  const runs = [{ side: 'before', seconds: 2, stacks: [['main;a', 200]] }, { side: 'after', seconds: 1, stacks: [['main;a', 100]] }];
  const doc = decode(diffDoc(runs, { normalize: 'duration' })), u = doc.views[0].tree;
  const v = byPath(doc, u, D.identity(u.n), D.columns(doc.diff, 0, u.n, 'nodes'));
  assert.deepEqual(v['main;a'].slice(0, 2), [100, 100], '200 in 2 s and 100 in 1 s are the same rate');
});

test('inverted and sandwich trees carry both sides, functions and vanished frames', () => {
  const runs = [{ side: 'before', stacks: [['main;a;b', 400], ['main;c;b', 100], ['main;c', 300], ['main;gone;b', 50]] },
                { side: 'after', stacks: [['main;a;b', 100], ['main;c;b', 100], ['main;c', 300]] }];
  const doc = decode(diffDoc(runs)), u = doc.views[0].tree, cols = D.columns(doc.diff, 0, u.n, 'nodes');
  const inv = D.inverted(u, cols.aSelf, cols.bSelf);
  const vi = byPath(doc, inv.tree, inv.umap, cols);
  assert.deepEqual(vi.b.slice(0, 2), [550, 200], 'b as a leaf, every caller merged');
  assert.deepEqual(vi['b;gone'].slice(0, 2), [50, 0], 'a caller only the before side has is kept');
  assert.deepEqual(vi['b;a;main'].slice(0, 2), [400, 100]);
  const sw = D.sandwich(u, M.frameByName(doc, 'b'), cols.aSelf, cols.bSelf);
  const callers = byPath(doc, sw.callers.tree, sw.callers.umap, cols);
  assert.deepEqual(callers.all.slice(0, 2), [550, 200], 'the sandwich root is b itself');
  assert.deepEqual(callers.c.slice(0, 2), [100, 100]);
  assert.equal(callers.c[2], 1, 'b under c did not change');
  const rows = D.functionRows(doc, doc.diff, 0, cols, u, D.identity(u.n));
  const b = rows.find((r) => r.name === 'b'), c = rows.find((r) => r.name === 'c');
  assert.deepEqual([b.before, b.after, b.totalBefore, b.totalAfter], [550, 200, 550, 200]);
  assert.deepEqual([c.before, c.after, c.totalBefore, c.totalAfter], [300, 300, 400, 400]);
  assert.equal(b.verdict, 'improved');
  assert.equal(c.verdict, 'noise');
  const gone = D.vanished(doc, u, cols);
  assert.deepEqual(gone.map((r) => [r.name, r.caller, r.before]), [['gone', 'main', 50]], 'only the outermost vanished frame');
});

test('damaged diff data is refused with the reason', () => {
  const json = diffDoc(RUNS);
  json.events[0].diff.runs[1].nodes.node = [0, 0];
  json.events[0].diff.runs[1].nodes.weight = [1, 1];
  json.events[0].diff.runs[1].nodes.count = [1, 1];
  assert.throws(() => decode(json), /diff data is damaged: .*entry 1 is out of range/);
  const j2 = diffDoc(RUNS);
  j2.events[0].diff.runs[0].nodes.node = [99];
  j2.events[0].diff.runs[0].nodes.weight = [1];
  j2.events[0].diff.runs[0].nodes.count = [1];
  assert.throws(() => decode(j2), /out of range/);
  const j3 = diffDoc(RUNS);
  j3.diff.runs.reverse();
  assert.throws(() => decode(j3), /before runs then after runs/);
  const j4 = diffDoc(RUNS);
  j4.events[0].diff.kind = 'guessed';
  assert.throws(() => decode(j4), /kind "guessed"/);
  const plain = diffDoc(RUNS);
  delete plain.diff;
  assert.equal(D.decodeDiff(plain, M.decodeDocument(plain)), null, 'a plain flame document is no diff');
});
