// fixtures.js — flame-page documents (docs/FLAME_DATA.md) whose answers are known by
// construction, for the Node tests of report/flame/model.js and layout.js.
//
// docFromStacks builds the document from folded stacks with a plain recursive tree, a
// different path from the page's own buildTree, so the two check each other.
'use strict';

// stacks: [[['main', 'a', 'b'], weight, bucket], ...]; frames: {name: {module, file, line, kind}}
function docFromStacks(stacks, opts = {}) {
  const strings = [''];
  const sid = (s) => {
    let i = strings.indexOf(s);
    if (i < 0) i = strings.push(s) - 1;
    return i;
  };
  const frameIds = new Map(), frames = { name: [], module: [], file: [], line: [], kind: [] };
  const fid = (name) => {
    if (!frameIds.has(name)) {
      const info = (opts.frames || {})[name] || {};
      frameIds.set(name, frames.name.length);
      frames.name.push(sid(name));
      frames.module.push(sid(info.module || 'app'));
      frames.file.push(sid(info.file || ''));
      frames.line.push(info.line || 0);
      frames.kind.push(info.kind === undefined ? 0 : info.kind);
    }
    return frameIds.get(name);
  };
  const root = { frame: -1, self: 0, kids: new Map(), cells: new Map() };
  for (const [path, weight, bucket = 0] of stacks) {
    let n = root;
    for (const name of path) {
      const f = fid(name);
      if (!n.kids.has(f)) n.kids.set(f, { frame: f, self: 0, kids: new Map(), cells: new Map() });
      n = n.kids.get(f);
    }
    n.self += weight;
    n.cells.set(bucket, (n.cells.get(bucket) || 0) + weight);
  }
  const total = (n) => n.self + [...n.kids.values()].reduce((s, k) => s + total(k), 0);
  const nodes = { depth: [], frame: [], self: [], total: [] }, cells = [];
  const walk = (n, d) => {
    const id = nodes.depth.length;
    nodes.depth.push(d); nodes.frame.push(n.frame); nodes.self.push(n.self); nodes.total.push(total(n));
    for (const [b, w] of n.cells) cells.push([b, id, w]);
    [...n.kids.values()].sort((a, b) => total(b) - total(a) || a.frame - b.frame).forEach((k) => walk(k, d + 1));
  };
  walk(root, 0);
  cells.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const nb = opts.buckets || 1 + Math.max(0, ...cells.map((c) => c[0]));
  const weights = new Array(nb).fill(0);
  for (const [b, , w] of cells) weights[b] += w;
  const node = cells.map((c, i) => (i && cells[i - 1][0] === c[0] ? c[1] - cells[i - 1][1] : c[1]));
  const event = {
    name: opts.event || 'cpu', unit: opts.unit || 'ns', total: nodes.total[0], samples: stacks.length, aggregate: false,
    nodes, lines: opts.lines || { frame: [], file: [], line: [], self: [] },
    timeline: { bucket_ns: opts.bucketNs || 1000, weights, cells: { bucket: cells.map((c) => c[0]), node, weight: cells.map((c) => c[2]) } },
  };
  return {
    version: 1, title: 'fixture', command: 'fixture --run', producer: 'test', initial_event: event.name,
    duration_ns: nb * (opts.bucketNs || 1000), strings, frames, events: [event], series: [], recommendations: [],
    _fid: fid,
  };
}

// A small pseudo-random generator, so the property tests are the same on every run.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function randomStacks(seed, count, names) {
  const r = rng(seed), out = [];
  for (let i = 0; i < count; i++) {
    const depth = 1 + Math.floor(r() * 6), path = ['main'];
    for (let d = 0; d < depth; d++) path.push(names[Math.floor(r() * names.length)]);
    out.push([path, 1 + Math.floor(r() * 100), Math.floor(r() * 8)]);
  }
  return out;
}

module.exports = { docFromStacks, randomStacks, rng };
