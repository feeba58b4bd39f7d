// model.js — the data logic of the flame-graph page (docs/FLAME_PAGE.md): the embedded
// document (docs/FLAME_DATA.md) turned into trees, and everything computed from a tree —
// a time range's tree, the inverted (callers-first) tree, a function's sandwich, search
// shares, hotspot tables. No DOM: it runs in the page and under Node (tests/js).
//
// A tree is columns in depth-first pre-order, children heaviest first: frame (index into
// the document's frames, -1 for the root `all`), depth, parent, end (a node's subtree is
// [id, end)), self and total. Weights are Float64Array: exact up to 2^53 (104 days of ns).
(function (root, factory) {
  'use strict';
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.nsprof = root.nsprof || {}).model = api;
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  const KIND_NAMES = ['user', 'library', 'kernel', 'inlined', 'pseudo'];

  // The count view whose weights are the calls of a view's frames (FLAME_DATA.md: the
  // model keeps no call counts per node).
  const CALLS_VIEW = {
    alloc_bytes: 'alloc_count', alloc_count: 'alloc_count',
    io_time: 'io_calls', io_bytes: 'io_calls', io_calls: 'io_calls',
    stdio_time: 'stdio_calls', stdio_bytes: 'stdio_calls', stdio_calls: 'stdio_calls',
  };

  function fail(msg) {
    throw new Error('the profile data is damaged: ' + msg);
  }

  // Column `key` of obj copied into a typed array (Ctor), every entry checked to be a
  // finite number: the page treats its data as hostile like every nsprof reader.
  function column(Ctor, obj, key, n, where) {
    const a = obj && obj[key];
    if (!Array.isArray(a)) fail(where + '.' + key + ' is missing');
    if (n !== undefined && a.length !== n) fail(where + '.' + key + ' has ' + a.length + ' entries, not ' + n);
    const out = new Ctor(a.length);
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) fail(where + '.' + key + '[' + i + '] is not a number');
      out[i] = x;
    }
    return out;
  }

  // Parent and subtree end from depths; checks the columns really are a pre-order.
  // origin (optional): for each node, the node of the tree it was built from.
  function finishTree(frame, depth, self, total, origin) {
    const n = frame.length;
    const parent = new Int32Array(n), end = new Int32Array(n);
    const stack = [];
    for (let i = 0; i < n; i++) {
      const d = depth[i];
      if (i === 0 ? d !== 0 : d < 1 || d > stack.length) fail('node ' + i + ' has depth ' + d);
      while (stack.length > d) end[stack.pop()] = i;
      parent[i] = i ? stack[d - 1] : -1;
      stack.push(i);
    }
    while (stack.length) end[stack.pop()] = n;
    return { n, frame, depth, parent, end, self, total, origin: origin || null };
  }

  function treeFromColumns(nodes, nframes, where) {
    const depth = column(Int32Array, nodes, 'depth', undefined, where);
    const n = depth.length;
    if (n === 0) fail(where + ' has no root');
    const frame = column(Int32Array, nodes, 'frame', n, where);
    for (let i = 0; i < n; i++)
      if (i === 0 ? frame[i] !== -1 : frame[i] < 0 || frame[i] >= nframes) fail(where + ' node ' + i + ' has frame ' + frame[i]);
    return finishTree(frame, depth, column(Float64Array, nodes, 'self', n, where), column(Float64Array, nodes, 'total', n, where));
  }

  function decodeTimeline(tl, n, where) {
    if (tl === null || tl === undefined) return null;
    const weights = column(Float64Array, tl, 'weights', undefined, where + '.timeline');
    const cells = tl.cells || {};
    const bucket = column(Int32Array, cells, 'bucket', undefined, where + '.cells');
    const nc = bucket.length;
    const delta = column(Float64Array, cells, 'node', nc, where + '.cells');
    const weight = column(Float64Array, cells, 'weight', nc, where + '.cells');
    const node = new Int32Array(nc);
    for (let i = 0; i < nc; i++) {
      node[i] = i && bucket[i] === bucket[i - 1] ? node[i - 1] + delta[i] : delta[i];
      if (node[i] < 0 || node[i] >= n || bucket[i] < 0 || bucket[i] >= weights.length) fail(where + ' cell ' + i + ' is out of range');
    }
    const bucketNs = Number(tl.bucket_ns);
    if (!(bucketNs > 0)) fail(where + '.timeline.bucket_ns is not positive');
    return { bucketNs, weights, bucket, node, weight };
  }

  function decodeLines(lines, nframes, nstrings, where) {
    if (!lines) return { frame: new Int32Array(0), file: new Int32Array(0), line: new Int32Array(0), self: new Float64Array(0) };
    const frame = column(Int32Array, lines, 'frame', undefined, where + '.lines');
    const n = frame.length;
    const file = column(Int32Array, lines, 'file', n, where + '.lines');
    for (let i = 0; i < n; i++)
      if (frame[i] < 0 || frame[i] >= nframes || file[i] < 0 || file[i] >= nstrings) fail(where + ' line ' + i + ' is out of range');
    return { frame, file, line: column(Int32Array, lines, 'line', n, where + '.lines'),
             self: column(Float64Array, lines, 'self', n, where + '.lines') };
  }

  // The document as the page uses it; throws on anything that does not fit the contract,
  // since a page drawn from half-understood data would mislead.
  function decodeDocument(doc) {
    if (!doc || typeof doc !== 'object') fail('not a JSON object');
    if (doc.version !== 1) fail('version ' + doc.version + ' (this page reads version 1)');
    const strings = Array.isArray(doc.strings) ? doc.strings.map(String) : fail('strings are missing');
    const f = doc.frames || fail('frames are missing');
    const name = column(Int32Array, f, 'name', undefined, 'frames'), nf = name.length;
    const frames = {
      n: nf, name, module: column(Int32Array, f, 'module', nf, 'frames'), file: column(Int32Array, f, 'file', nf, 'frames'),
      line: column(Int32Array, f, 'line', nf, 'frames'), kind: column(Int32Array, f, 'kind', nf, 'frames'),
    };
    for (let i = 0; i < nf; i++)
      for (const col of [frames.name, frames.module, frames.file])
        if (col[i] < 0 || col[i] >= strings.length) fail('frame ' + i + ' names string ' + col[i]);
    const views = (Array.isArray(doc.events) ? doc.events : fail('events are missing')).map((ev, i) => {
      const where = 'events[' + i + ']';
      const tree = treeFromColumns(ev.nodes, nf, where);
      return {
        name: String(ev.name), unit: String(ev.unit), total: Number(ev.total) || 0,
        samples: Number(ev.samples) || 0, aggregate: !!ev.aggregate, tree,
        timeline: decodeTimeline(ev.timeline, tree.n, where), lines: decodeLines(ev.lines, nf, strings.length, where),
      };
    });
    const series = (Array.isArray(doc.series) ? doc.series : []).filter((s) => s && Array.isArray(s.t) && Array.isArray(s.v) && s.t.length === s.v.length)
      .map((s) => ({ name: String(s.name), unit: String(s.unit), pid: Number(s.pid) || 0, t: Float64Array.from(s.t, Number), v: Float64Array.from(s.v, Number) }));
    return {
      title: String(doc.title || ''), command: String(doc.command || ''), producer: String(doc.producer || ''),
      initialEvent: String(doc.initial_event || ''), durationNs: Number(doc.duration_ns) || 0,
      notes: Array.isArray(doc.notes) ? doc.notes.map(String) : [],
      strings, frames, views, series, recommendations: Array.isArray(doc.recommendations) ? doc.recommendations : [],
    };
  }

  function frameName(doc, f) {
    return f < 0 ? 'all' : doc.strings[doc.frames.name[f]];
  }

  function frameInfo(doc, f) {
    if (f < 0) return { name: 'all', module: '', file: '', line: 0, kind: 'pseudo' };
    const fr = doc.frames;
    return { name: doc.strings[fr.name[f]], module: doc.strings[fr.module[f]], file: doc.strings[fr.file[f]],
             line: fr.line[f], kind: KIND_NAMES[fr.kind[f]] || 'library' };
  }

  // A tree from parent links (parent[i] < i, root 0) and self weights: totals summed,
  // zero-weight branches dropped, children ordered heaviest first (ties: by frame, so the
  // order does not depend on insertion). keep (optional): other weights per node; a branch
  // with only those is kept (zero-wide: the diff's other side), ordered by them after the
  // others. The tree's origin column names each node's index in the input.
  function buildTree(parent, frame, self, count, keep) {
    const n = count === undefined ? parent.length : count;
    const total = new Float64Array(n), other = new Float64Array(n);
    for (let i = 0; i < n; i++) total[i] = self[i];
    if (keep) for (let i = 0; i < n; i++) other[i] = keep[i];
    for (let i = n - 1; i > 0; i--) {
      total[parent[i]] += total[i];
      other[parent[i]] += other[i];
    }
    const kept = (i) => total[i] > 0 || other[i] > 0;
    const nchild = new Int32Array(n + 1);
    for (let i = 1; i < n; i++) if (kept(i)) nchild[parent[i] + 1]++;
    for (let i = 0; i < n; i++) nchild[i + 1] += nchild[i];
    const kids = new Int32Array(Math.max(nchild[n], 1)), fill = nchild.slice(0, n);
    for (let i = 1; i < n; i++) if (kept(i)) kids[fill[parent[i]]++] = i;
    const byWeight = (a, b) => total[b] - total[a] || other[b] - other[a] || frame[a] - frame[b];
    const outFrame = new Int32Array(n), outDepth = new Int32Array(n), outOrigin = new Int32Array(n);
    const outSelf = new Float64Array(n), outTotal = new Float64Array(n);
    const stack = new Int32Array(n + 1), stackDepth = new Int32Array(n + 1);
    let m = 0, top = 1; // stack[0] = the root, at depth 0
    while (top > 0) {
      const i = stack[--top], d = stackDepth[top];
      outFrame[m] = frame[i]; outDepth[m] = d; outSelf[m] = self[i]; outTotal[m] = total[i]; outOrigin[m] = i; m++;
      const k0 = nchild[i], k1 = nchild[i + 1];
      if (k1 - k0 > 1) kids.subarray(k0, k1).sort(byWeight);
      for (let k = k1 - 1; k >= k0; k--) {
        stack[top] = kids[k];
        stackDepth[top++] = d + 1;
      }
    }
    return finishTree(outFrame.slice(0, m), outDepth.slice(0, m), outSelf.slice(0, m), outTotal.slice(0, m), outOrigin.slice(0, m));
  }

  // A prefix tree of frames built by walking paths; the root is node 0 (frame -1). Its
  // (parent, frame) -> child index is an open-addressing table over typed arrays: the
  // inverted tree of a 600,000-node profile makes millions of lookups, and a Map keyed by
  // large numbers made that take seconds.
  function Trie(rootFrame) {
    this.n = 1;
    this.parent = new Int32Array(1024);
    this.frame = new Int32Array(1024);
    this.self = new Float64Array(1024);
    this.parent[0] = -1;
    this.frame[0] = rootFrame === undefined ? -1 : rootFrame;
    this.slots = new Int32Array(4096).fill(-1);
  }
  function slotOf(slots, p, f) {
    let h = Math.imul(p ^ Math.imul(f + 1, 0x85ebca77), 0x9e3779b1);
    h ^= h >>> 16;
    return h & (slots.length - 1);
  }
  Trie.prototype.grow = function () {
    const cap = this.parent.length * 2;
    for (const key of ['parent', 'frame', 'self']) {
      const a = new this[key].constructor(cap);
      a.set(this[key]);
      this[key] = a;
    }
    const slots = new Int32Array(cap * 4).fill(-1), mask = slots.length - 1;
    for (let c = 1; c < this.n; c++) {
      let h = slotOf(slots, this.parent[c], this.frame[c]);
      while (slots[h] >= 0) h = (h + 1) & mask;
      slots[h] = c;
    }
    this.slots = slots;
  };
  Trie.prototype.child = function (p, f) {
    const mask = this.slots.length - 1;
    let h = slotOf(this.slots, p, f);
    for (let c = this.slots[h]; c >= 0; c = this.slots[h]) {
      if (this.parent[c] === p && this.frame[c] === f) return c;
      h = (h + 1) & mask;
    }
    if (this.n === this.parent.length) {
      this.grow();
      return this.child(p, f);
    }
    const c = this.n++;
    this.parent[c] = p;
    this.frame[c] = f;
    this.slots[h] = c;
    return c;
  };
  Trie.prototype.tree = function () {
    return buildTree(this.parent, this.frame, this.self, this.n);
  };

  // The paths of inverted tree of t: a trie of each node's stack reversed, for the nodes
  // where has(i), and per node of t its trie node (-1: none).
  function invertedPaths(t, has) {
    const trie = new Trie(), map = new Int32Array(t.n).fill(-1);
    for (let i = 1; i < t.n; i++) {
      if (!has(i)) continue;
      let at = 0;
      for (let j = i; j > 0; j = t.parent[j]) at = trie.child(at, t.frame[j]);
      map[i] = at;
    }
    return { trie, map };
  }

  // The tree of the time buckets [b0, b1): the view's nodes with the self weight of their
  // cells in range, as FLAME_DATA.md describes.
  function rangeTree(view, b0, b1) {
    const t = view.tree, tl = view.timeline;
    if (!tl) return t;
    const self = new Float64Array(t.n);
    for (let i = 0; i < tl.bucket.length; i++)
      if (tl.bucket[i] >= b0 && tl.bucket[i] < b1) self[tl.node[i]] += tl.weight[i];
    return buildTree(t.parent, t.frame, self);
  }

  // Callers-first: each stack reversed, so the functions where the weight is spent are
  // the first level and their callers above them.
  function invertedTree(t) {
    const { trie, map } = invertedPaths(t, (i) => t.self[i] > 0);
    for (let i = 1; i < t.n; i++) if (map[i] >= 0) trie.self[map[i]] += t.self[i];
    return trie.tree();
  }

  // Outermost occurrences of frame f: nodes of f with no ancestor of f (so recursion is
  // not counted twice).
  function outermost(t, f) {
    const out = [];
    for (let i = 1; i < t.n; i++) {
      if (t.frame[i] !== f) continue;
      out.push(i);
      i = t.end[i] - 1;
    }
    return out;
  }

  // The paths of a function's sandwich: tries of its callers (merged from every place it
  // appears, f at the root and callers above) and its callees (every subtree of f merged
  // under one f), and per node of t the node of each its self weight goes to (-1: none).
  function sandwichPaths(t, f) {
    const callers = new Trie(f), callees = new Trie(f);
    const callerMap = new Int32Array(t.n).fill(-1), calleeMap = new Int32Array(t.n).fill(-1);
    for (const i of outermost(t, f)) {
      let at = 0;
      for (let j = t.parent[i]; j > 0; j = t.parent[j]) at = callers.child(at, t.frame[j]);
      calleeMap[i] = 0;
      for (let j = i; j < t.end[i]; j++) {
        callerMap[j] = at;
        if (j > i) calleeMap[j] = callees.child(calleeMap[t.parent[j]], t.frame[j]);
      }
    }
    return { callers, callees, callerMap, calleeMap };
  }

  function sandwichTrees(t, f) {
    const s = sandwichPaths(t, f);
    for (let j = 0; j < t.n; j++) {
      if (s.callerMap[j] >= 0) s.callers.self[s.callerMap[j]] += t.self[j];
      if (s.calleeMap[j] >= 0) s.callees.self[s.calleeMap[j]] += t.self[j];
    }
    return { callers: s.callers.tree(), callees: s.callees.tree() };
  }

  // The frames a search pattern matches: `/re/flags` is a regular expression, anything
  // else a case-insensitive substring. Throws SyntaxError for a bad expression.
  function matcher(doc, pattern) {
    const re = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
    let test;
    if (re) {
      const rx = new RegExp(re[1], re[2].replace(/[gy]/g, ''));
      test = (s) => rx.test(s);
    } else {
      const needle = pattern.toLowerCase();
      test = (s) => s.toLowerCase().includes(needle);
    }
    const byString = new Map();
    const hit = new Uint8Array(doc.frames.n);
    for (let f = 0; f < doc.frames.n; f++) {
      const s = doc.frames.name[f];
      let h = byString.get(s);
      if (h === undefined) byString.set(s, (h = test(doc.strings[s]) ? 1 : 0));
      hit[f] = h;
    }
    return hit;
  }

  // The weight under matched frames, a match inside a match counted once.
  function searchShare(t, hit) {
    let weight = 0, matches = 0;
    for (let i = 1; i < t.n; i++) if (hit[t.frame[i]]) matches++;
    for (let i = 1; i < t.n; i++) {
      if (!hit[t.frame[i]]) continue;
      weight += t.total[i];
      i = t.end[i] - 1;
    }
    const total = t.total[0];
    return { matches, weight, total, share: total > 0 ? weight / total : 0 };
  }

  // Per frame: self summed over its nodes, total over its outermost nodes; of the tree's own
  // weights, or of other weights per node of t (nodeSelf, nodeTotal).
  function frameTotals(t, nframes, nodeSelf, nodeTotal) {
    const ns = nodeSelf || t.self, nt = nodeTotal || t.total;
    const self = new Float64Array(nframes), total = new Float64Array(nframes);
    const open = new Int32Array(nframes), stack = [];
    for (let i = 1; i < t.n; i++) {
      while (stack.length >= t.depth[i]) open[t.frame[stack.pop()]]--;
      const f = t.frame[i];
      self[f] += ns[i];
      if (open[f] === 0) total[f] += nt[i];
      open[f]++;
      stack.push(i);
    }
    return { self, total };
  }

  function callsView(doc, view) {
    const name = CALLS_VIEW[view.name];
    return name ? doc.views.find((v) => v.name === name) || null : null;
  }

  // The by-function table of tree t (of view): one row per frame with weight.
  function functionRows(doc, view, t) {
    const nf = doc.frames.n, own = frameTotals(t, nf);
    const cv = callsView(doc, view);
    const calls = cv ? frameTotals(cv.tree, nf).total : null;
    const rows = [];
    for (let f = 0; f < nf; f++) {
      if (!(own.total[f] > 0)) continue;
      const info = frameInfo(doc, f);
      rows.push({ frame: f, name: info.name, module: info.module, file: info.file, line: info.line, kind: info.kind,
                  self: own.self[f], total: own.total[f], calls: calls ? calls[f] : null });
    }
    return rows;
  }

  // The by-line table of a view (whole run: the data keeps lines per view, not per time).
  function lineRows(doc, view) {
    const l = view.lines, byKey = new Map(), rows = [];
    for (let i = 0; i < l.frame.length; i++) {
      const key = l.frame[i] + ':' + l.file[i] + ':' + l.line[i];
      let r = byKey.get(key);
      if (!r) {
        const info = frameInfo(doc, l.frame[i]);
        r = { frame: l.frame[i], name: info.name, module: info.module, file: doc.strings[l.file[i]] || info.file,
              line: l.line[i], kind: info.kind, self: 0, total: null, calls: null };
        byKey.set(key, r);
        rows.push(r);
      }
      r.self += l.self[i];
    }
    return rows;
  }

  function sortRows(rows, column, descending) {
    const dir = descending ? -1 : 1;
    const key = (r) => (r[column] === null ? -Infinity : r[column]);
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      const c = typeof x === 'string' || typeof y === 'string' ? String(x).localeCompare(String(y)) : x - y;
      return c * dir || b.self - a.self || a.name.localeCompare(b.name) || a.line - b.line;
    });
    return rows;
  }

  // Ids of the nodes of frame name, heaviest first.
  function findNodes(doc, t, name) {
    const ids = [];
    for (let i = 1; i < t.n; i++) if (frameName(doc, t.frame[i]) === name) ids.push(i);
    return ids.sort((a, b) => t.total[b] - t.total[a] || a - b);
  }

  // The frame index of a function name, or -1.
  function frameByName(doc, name) {
    for (let f = 0; f < doc.frames.n; f++) if (doc.strings[doc.frames.name[f]] === name) return f;
    return -1;
  }

  // The buckets [b0, b1) covering the times [t0, t1) ns.
  function bucketsOf(timeline, t0, t1) {
    const nb = timeline.weights.length;
    const b0 = Math.max(0, Math.min(nb, Math.floor(t0 / timeline.bucketNs)));
    const b1 = Math.max(b0 + 1, Math.min(nb, Math.ceil(t1 / timeline.bucketNs)));
    return [b0, Math.min(b1, nb)];
  }

  return {
    KIND_NAMES, CALLS_VIEW, decodeDocument, frameName, frameInfo, buildTree, rangeTree, invertedTree,
    invertedPaths, sandwichTrees, sandwichPaths, outermost, matcher, searchShare, frameTotals, functionRows, lineRows, sortRows,
    findNodes, frameByName, bucketsOf, finishTree,
  };
});
