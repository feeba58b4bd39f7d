// diff.js — the flame page's diff mode (docs/FLAME_PAGE.md, "Differential flame graph"):
// the `diff` part of the document (docs/FLAME_DATA.md) decoded, the before and after
// weights of any tree the page draws, and each frame's noise verdict by the method of
// `nsprof diff` (docs/DIFF.md): Welch's t over runs with two or more runs a side; with one,
// a sampled event's conditional binomial beyond the run-to-run noise, an exact count's any
// change, a measured time's change beyond 3 × the run-to-run noise; Benjamini–Hochberg over
// the frames of a tree. No DOM: it runs in the page and under Node (tests/js).
//
// The union tree (a view's `tree`) holds every stack of either side; a tree drawn from it
// (the before shape, inverted, a sandwich) comes with `umap`: for each union node, the node
// of the drawn tree its self weight goes to (-1: none).
(function (root, factory) {
  'use strict';
  const M = typeof module === 'object' && module.exports ? require('./model.js') : root.nsprof.model;
  const api = factory(M);
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.nsprof = root.nsprof || {}).diff = api;
})(typeof self !== 'undefined' ? self : this, function (M) {
  'use strict';

  // ---- statistics: the same tests as report/diff/diff_stats.c, on the page's numbers ----

  const LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
    -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];

  // log Γ(x) for x > 0 (Lanczos, g = 7: about 15 digits).
  function lgamma(x) {
    if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
    x -= 1;
    let a = LANCZOS[0];
    const t = x + 7.5;
    for (let i = 1; i < 9; i++) a += LANCZOS[i] / (x + i);
    return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
  }

  // erfc by its Chebyshev fit (relative error below 1.2e-7): JavaScript has no erfc.
  function erfc(x) {
    const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
    const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
      t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
    return x >= 0 ? r : 2 - r;
  }

  function betaContinuedFraction(a, b, x) {
    const tiny = 1e-300, eps = 1e-14, qab = a + b, qap = a + 1, qam = a - 1;
    const clamp = (v) => (Math.abs(v) < tiny ? tiny : v);
    let c = 1, d = 1 / clamp(1 - (qab * x) / qap), h = d;
    for (let m = 1; m <= 300; m++) {
      const m2 = 2 * m;
      let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
      d = 1 / clamp(1 + aa * d);
      c = clamp(1 + aa / c);
      h *= d * c;
      aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
      d = 1 / clamp(1 + aa * d);
      c = clamp(1 + aa / c);
      const del = d * c;
      h *= del;
      if (Math.abs(del - 1) < eps) break;
    }
    return h;
  }

  // The regularized incomplete beta function I_x(a, b).
  function incompleteBeta(a, b, x) {
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    const bt = Math.exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * Math.log(x) + b * Math.log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return (bt * betaContinuedFraction(a, b, x)) / a;
    return 1 - (bt * betaContinuedFraction(b, a, 1 - x)) / b;
  }

  function tTwoSidedP(t, df) {
    if (!Number.isFinite(t)) return Number.isNaN(t) ? 1 : 0;
    if (df <= 0) return 1;
    return incompleteBeta(df / 2, 0.5, df / (df + t * t));
  }

  function meanVar(v) {
    const n = v.length;
    let s = 0;
    for (const x of v) s += x;
    const mean = s / n;
    let ss = 0;
    for (const x of v) ss += (x - mean) * (x - mean);
    return [mean, n > 1 ? ss / (n - 1) : 0];
  }

  // Welch's t-test of two samples of run values (at least 2 each, else 1).
  function welchP(a, b) {
    if (a.length < 2 || b.length < 2) return 1;
    const [ma, va] = meanVar(a), [mb, vb] = meanVar(b);
    const sa = va / a.length, sb = vb / b.length, se2 = sa + sb;
    if (se2 <= 0) return ma === mb ? 1 : 0;
    const t = (mb - ma) / Math.sqrt(se2);
    const df = (se2 * se2) / ((sa * sa) / (a.length - 1) + (sb * sb) / (b.length - 1));
    return tTwoSidedP(t, df);
  }

  function logBinomPmf(k, n, p) {
    return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
  }

  // Did a share of the samples change: c1 of exposure n1 before, c2 of n2 after
  // (conditional binomial; normal with continuity correction for large counts).
  function shareP(c1, n1, c2, n2) {
    const n = c1 + c2;
    if (n === 0 || n1 === 0 || n2 === 0) return 1;
    const p0 = n2 / (n1 + n2), mean = n * p0, v = mean * (1 - p0);
    if (v >= 25) {
      const z = (Math.abs(c2 - mean) - 0.5) / Math.sqrt(v);
      return z <= 0 ? 1 : erfc(z / Math.SQRT2);
    }
    const lobs = logBinomPmf(c2, n, p0);
    let p = 0;
    for (let k = 0; k <= n; k++) {
      const lk = logBinomPmf(k, n, p0);
      if (lk <= lobs + 1e-9) p += Math.exp(lk);
    }
    return p > 1 ? 1 : p;
  }

  // Benjamini–Hochberg at rate q over the entries of p where `use` is set (NaN counts as 1);
  // returns 1 per discovery.
  function benjaminiHochberg(p, q, use) {
    const idx = [];
    for (let i = 0; i < p.length; i++) if (!use || use[i]) idx.push(i);
    const val = (i) => (Number.isNaN(p[i]) ? 1 : p[i]);
    idx.sort((x, y) => val(x) - val(y) || x - y);
    let k = 0;
    for (let r = 0; r < idx.length; r++) if (val(idx[r]) <= ((r + 1) * q) / idx.length) k = r + 1;
    const sig = new Uint8Array(p.length);
    for (let r = 0; r < k; r++) sig[idx[r]] = 1;
    return sig;
  }

  // ---- the document's `diff` parts ----

  function fail(msg) {
    throw new Error('the diff data is damaged: ' + msg);
  }

  function numbers(obj, key, n, where) {
    const a = obj && obj[key];
    if (!Array.isArray(a) || (n !== undefined && a.length !== n)) fail(where + '.' + key + ' is missing or of the wrong length');
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) {
      if (typeof a[i] !== 'number' || !Number.isFinite(a[i])) fail(where + '.' + key + '[' + i + '] is not a number');
      out[i] = a[i];
    }
    return out;
  }

  // Sparse entries: delta-coded ids (each one more than the last at least) below `limit`.
  function sparse(obj, idKey, limit, where) {
    const delta = numbers(obj, idKey, undefined, where), n = delta.length;
    const id = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      id[i] = i ? id[i - 1] + delta[i] : delta[i];
      if ((i && !(delta[i] > 0)) || id[i] < 0 || id[i] >= limit) fail(where + ' entry ' + i + ' is out of range');
    }
    return { id, weight: numbers(obj, 'weight', n, where), count: numbers(obj, 'count', n, where) };
  }

  const KINDS = ['sampled', 'exact', 'measured'];
  const NORMALIZE = { runs: 'per run', duration: 'per second of run time', share: 'as a share of each side\'s total' };

  // The decoded diff of document json whose views doc.views are decoded already; null when
  // the document is not a diff.
  function decodeDiff(json, doc) {
    const d = json && json.diff;
    if (d === undefined || d === null) return null;
    if (typeof d !== 'object') fail('diff is not an object');
    const normalize = String(d.normalize);
    if (!NORMALIZE[normalize]) fail('normalize "' + normalize + '"');
    const runs = (Array.isArray(d.runs) ? d.runs : fail('runs are missing')).map((r, i) => {
      if (!r || (r.side !== 'before' && r.side !== 'after')) fail('run ' + i + ' has no side');
      return { side: r.side, seconds: Number(r.seconds) || 0 };
    });
    const nb = runs.filter((r) => r.side === 'before').length, na = runs.length - nb;
    if (!nb || !na || runs.slice(0, nb).some((r) => r.side !== 'before')) fail('the runs are not before runs then after runs');
    const views = json.events.map((ev, vi) => {
      const where = 'events[' + vi + '].diff', e = ev.diff || fail(where + ' is missing');
      const kind = KINDS.includes(e.kind) ? e.kind : fail(where + '.kind "' + e.kind + '"');
      const method = String(e.method || '');
      const er = Array.isArray(e.runs) && e.runs.length === runs.length ? e.runs : fail(where + '.runs has not one entry per run');
      const n = doc.views[vi].tree.n, nl = doc.views[vi].lines.frame.length;
      return {
        kind, method, beforeTotal: Number(e.before_total) || 0,
        runs: er.map((r, i) => ({
          factor: Number(r.factor) || 0, weight: Number(r.weight) || 0, count: Number(r.count) || 0,
          nodes: sparse(r.nodes, 'node', n, where + '.runs[' + i + '].nodes'),
          lines: sparse(r.lines, 'line', nl, where + '.runs[' + i + '].lines'),
        })),
      };
    });
    return {
      normalize, normalizeText: NORMALIZE[normalize], fdr: Number(d.fdr) > 0 ? Number(d.fdr) : 0.05,
      runNoise: Number(d.run_noise) > 0 ? Number(d.run_noise) : 0.05, nb, na, runs, views,
      beforeTitle: String(d.before_title || ''), beforeCommand: String(d.before_command || ''),
    };
  }

  // Per view, over its union nodes (or lines): each side's normalized mean self, each side's
  // raw counts, and each run's normalized self when the verdict is by Welch's t.
  function columns(dd, vi, n, part) {
    const v = dd.views[vi], welch = dd.nb >= 2 && dd.na >= 2;
    const c = { aSelf: new Float64Array(n), bSelf: new Float64Array(n), aCount: new Float64Array(n),
                bCount: new Float64Array(n), runs: welch ? [] : null };
    v.runs.forEach((r, i) => {
      const after = dd.runs[i].side === 'after', e = r[part];
      const mean = after ? c.aSelf : c.bSelf, count = after ? c.aCount : c.bCount;
      const f = r.factor / (after ? dd.na : dd.nb), own = welch ? new Float64Array(n) : null;
      for (let k = 0; k < e.id.length; k++) {
        mean[e.id[k]] += f * e.weight[k];
        count[e.id[k]] += e.count[k];
        if (own) own[e.id[k]] += r.factor * e.weight[k];
      }
      if (own) c.runs.push(own);
    });
    return c;
  }

  // What the single-run binomial test takes as each side's exposure (diff.c judge_rows).
  function exposure(dd, vi) {
    const e = [0, 0];
    dd.runs.forEach((r, i) => {
      const s = r.side === 'after' ? 1 : 0;
      if (dd.normalize === 'share') e[s] += dd.views[vi].runs[i].count;
      else if (dd.normalize === 'duration') e[s] += Math.round(r.seconds * 1e6);
      else e[s] += 1;
    });
    return e;
  }

  // The change of before -> after in percent, infinite for something from nothing.
  function changePct(before, after) {
    return before > 0 ? (100 * Math.abs(after - before)) / before : after > 0 ? Infinity : 0;
  }

  // A side-level total (the whole tree's root): Welch with runs to spare, else the
  // threshold of the event's kind (diff.c single_run_limit).
  function totalNoise(dd, kind, before, after, runsBefore, runsAfter) {
    if (runsBefore) return welchP(runsBefore, runsAfter) >= 0.05;
    const limit = 100 * dd.runNoise;
    const l = kind === 'measured' ? 3 * limit : kind === 'exact' && dd.normalize !== 'duration' ? 0 : limit;
    return changePct(before, after) <= l;
  }

  // Verdicts of a family of quantities (nodes' totals, frames' selves, lines): arrays
  // before/after (means), bc/ac (raw counts per side), perRun (per run arrays, or null),
  // present (which entries take part). Returns { p, noise }.
  function judgeFamily(dd, vi, before, after, bc, ac, perRun, present) {
    const n = before.length, kind = dd.views[vi].kind;
    const p = new Float64Array(n).fill(NaN), noise = new Uint8Array(n);
    const byTest = !!perRun || kind === 'sampled';
    if (byTest) {
      const [e0, e1] = exposure(dd, vi);
      for (let i = 0; i < n; i++) {
        if (!present[i]) continue;
        if (perRun) {
          const a = [], b = [];
          perRun.forEach((col, r) => (dd.runs[r].side === 'after' ? b : a).push(col[i]));
          p[i] = welchP(a, b);
        } else {
          p[i] = shareP(bc[i], e0, ac[i], e1);
        }
      }
      const sig = benjaminiHochberg(p, dd.fdr, present);
      const limit = perRun ? 0 : 100 * dd.runNoise;
      for (let i = 0; i < n; i++) noise[i] = !sig[i] || changePct(before[i], after[i]) <= limit ? 1 : 0;
      return { p, noise };
    }
    const limit = kind === 'measured' ? 300 * dd.runNoise : dd.normalize === 'duration' ? 100 * dd.runNoise : 0;
    for (let i = 0; i < n; i++) noise[i] = changePct(before[i], after[i]) <= limit ? 1 : 0;
    return { p, noise };
  }

  // Per node of t: the sum of col over the union nodes umap sends to it, and its total.
  function project(t, umap, col) {
    const self = new Float64Array(t.n);
    for (let u = 0; u < umap.length; u++) if (umap[u] >= 0) self[umap[u]] += col[u];
    const total = Float64Array.from(self);
    for (let i = t.n - 1; i > 0; i--) total[t.parent[i]] += total[i];
    return { self, total };
  }

  // Everything the page shows of tree t's change: per node each side's self and total,
  // the verdict on its total ({ p, noise }) and the verdict word.
  function judgeTree(dd, vi, cols, t, umap) {
    const a = project(t, umap, cols.aSelf), b = project(t, umap, cols.bSelf);
    const ac = project(t, umap, cols.aCount).total, bc = project(t, umap, cols.bCount).total;
    const perRun = cols.runs ? cols.runs.map((col) => project(t, umap, col).total) : null;
    const present = new Uint8Array(t.n);
    for (let i = 0; i < t.n; i++) present[i] = a.total[i] > 0 || b.total[i] > 0 ? 1 : 0;
    const wholeRun = t.frame[0] === -1; // the root `all` is the run's total: judged as one
    if (wholeRun) present[0] = 0;
    const j = judgeFamily(dd, vi, b.total, a.total, bc, ac, perRun, present);
    if (wholeRun) {
      const runs = perRun ? perRun.map((c) => c[0]) : null;
      j.noise[0] = totalNoise(dd, dd.views[vi].kind, b.total[0], a.total[0],
        runs && runs.filter((_, r) => dd.runs[r].side === 'before'), runs && runs.filter((_, r) => dd.runs[r].side === 'after')) ? 1 : 0;
    }
    return { aSelf: a.self, aTotal: a.total, bSelf: b.self, bTotal: b.total, p: j.p, noise: j.noise };
  }

  function verdict(before, after, noise) {
    if (noise || before === after) return 'noise';
    return after < before ? 'improved' : 'regressed';
  }

  // The union tree's weights laid out in another side's shape: tree of `self` (the shape's
  // side), keeping nodes that only `other` has (drawn zero-wide), and its umap.
  function reshape(u, self, other) {
    const t = M.buildTree(u.parent, u.frame, self, u.n, other);
    return { tree: t, umap: invert(t.origin, u.n) };
  }

  // origin (drawn node -> source node) inverted into source node -> drawn node.
  function invert(origin, n) {
    const map = new Int32Array(n).fill(-1);
    for (let i = 0; i < origin.length; i++) if (origin[i] >= 0) map[origin[i]] = i;
    return map;
  }

  // Composes source -> trie node (pathMap) with the drawn tree's origin.
  function compose(pathMap, t, ntrie) {
    const toDrawn = invert(t.origin, ntrie);
    return pathMap.map((k) => (k >= 0 ? toDrawn[k] : -1));
  }

  function trieTree(trie, pathMap, self, other) {
    const ts = new Float64Array(trie.n), to = new Float64Array(trie.n);
    for (let u = 0; u < pathMap.length; u++) {
      if (pathMap[u] < 0) continue;
      ts[pathMap[u]] += self[u];
      to[pathMap[u]] += other[u];
    }
    const t = M.buildTree(trie.parent, trie.frame, ts, trie.n, to);
    return { tree: t, umap: compose(pathMap, t, trie.n) };
  }

  // The inverted tree of union tree u in the shape of `self`, and its umap.
  function inverted(u, self, other) {
    const has = (i) => self[i] > 0 || other[i] > 0;
    const { trie, map } = M.invertedPaths(u, has);
    return trieTree(trie, map, self, other);
  }

  // The sandwich of frame f of union tree u: { callers, callees }, each { tree, umap }.
  function sandwich(u, f, self, other) {
    const has = (i) => self[i] > 0 || other[i] > 0;
    const s = M.sandwichPaths(u, f, has);
    return { callers: trieTree(s.callers, s.callerMap, self, other), callees: trieTree(s.callees, s.calleeMap, self, other) };
  }

  function identity(n) {
    const m = new Int32Array(n);
    for (let i = 0; i < n; i++) m[i] = i;
    return m;
  }

  // The by-function table of a diff: per frame each side's self (summed over its nodes) and
  // total (over its outermost nodes), both judged. t, umap: the drawn base tree.
  function functionRows(doc, dd, vi, cols, t, umap) {
    const nf = doc.frames.n;
    const sums = (col) => {
      const pr = project(t, umap, col);
      return M.frameTotals(t, nf, pr.self, pr.total);
    };
    const a = sums(cols.aSelf), b = sums(cols.bSelf), ac = sums(cols.aCount), bc = sums(cols.bCount);
    const runs = cols.runs ? cols.runs.map(sums) : null;
    const present = new Uint8Array(nf);
    for (let f = 0; f < nf; f++) present[f] = a.total[f] > 0 || b.total[f] > 0 ? 1 : 0;
    const js = judgeFamily(dd, vi, b.self, a.self, bc.self, ac.self, runs && runs.map((r) => r.self), present);
    const jt = judgeFamily(dd, vi, b.total, a.total, bc.total, ac.total, runs && runs.map((r) => r.total), present);
    const rows = [];
    for (let f = 0; f < nf; f++) {
      if (!present[f]) continue;
      const info = M.frameInfo(doc, f);
      rows.push(Object.assign(row(info, f, b.self[f], a.self[f], js.noise[f], js.p[f]), {
        total: a.total[f], totalBefore: b.total[f], totalAfter: a.total[f], totalDeltaPct: deltaPct(b.total[f], a.total[f]),
        totalNoise: !!jt.noise[f], totalVerdict: verdict(b.total[f], a.total[f], jt.noise[f]),
      }));
    }
    return rows;
  }

  function deltaPct(before, after) {
    return before > 0 ? (100 * (after - before)) / before : null;
  }

  function row(info, f, before, after, noise, p) {
    return { frame: f, name: info.name, module: info.module, file: info.file, line: info.line, kind: info.kind,
             before, after, self: after, delta: after - before, deltaPct: deltaPct(before, after),
             noise: !!noise, p: Number.isNaN(p) ? null : p, verdict: verdict(before, after, noise), total: null, calls: null };
  }

  // The by-line table of a diff: each line's self on both sides, judged.
  function lineRows(doc, dd, vi, view) {
    const l = view.lines, n = l.frame.length, c = columns(dd, vi, n, 'lines');
    const present = new Uint8Array(n);
    for (let i = 0; i < n; i++) present[i] = c.aSelf[i] > 0 || c.bSelf[i] > 0 ? 1 : 0;
    const j = judgeFamily(dd, vi, c.bSelf, c.aSelf, c.bCount, c.aCount, c.runs, present);
    const rows = [];
    for (let i = 0; i < n; i++) {
      if (!present[i]) continue;
      const info = M.frameInfo(doc, l.frame[i]);
      const r = row(info, l.frame[i], c.bSelf[i], c.aSelf[i], j.noise[i], j.p[i]);
      r.file = doc.strings[l.file[i]] || info.file;
      r.line = l.line[i];
      rows.push(r);
    }
    return rows;
  }

  // Frames the after side no longer calls: the outermost union nodes with weight before and
  // none after (a flame graph of the after profile cannot show them), heaviest first.
  function vanished(doc, u, cols) {
    const a = project(u, identity(u.n), cols.aSelf).total, b = project(u, identity(u.n), cols.bSelf).total;
    const rows = [];
    for (let i = 1; i < u.n; i++) {
      if (!(b[i] > 0) || a[i] > 0 || (u.parent[i] > 0 && !(a[u.parent[i]] > 0))) continue;
      const info = M.frameInfo(doc, u.frame[i]);
      rows.push({ node: i, name: info.name, module: info.module, caller: M.frameName(doc, u.frame[u.parent[i]]),
                  before: b[i], self: b[i] });
    }
    return rows.sort((x, y) => y.before - x.before || x.node - y.node);
  }

  // ---- colour ----

  // A frame's fill: red when it grew, blue when it shrank, the stronger the larger the change
  // relative to the larger side (something from nothing: full); grey when within noise.
  function color(before, after, noise, name) {
    let h = 0x811c9dc5; // FNV-1a of the name: neighbours in grey stay apart
    for (let i = 0; i < (name || '').length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
    const jitter = h % 5;
    if (noise || before === after) return 'hsl(0, 0%, ' + (80 + jitter) + '%)';
    const r = Math.abs(after - before) / Math.max(before, after);
    const light = Math.round(90 - 42 * Math.min(1, r));
    return (after > before ? 'hsl(0, 80%, ' : 'hsl(215, 80%, ') + light + '%)';
  }

  return {
    lgamma, erfc, incompleteBeta, tTwoSidedP, welchP, shareP, benjaminiHochberg, decodeDiff, columns,
    judgeTree, judgeFamily, changePct, verdict, reshape, inverted, sandwich, identity, functionRows, lineRows,
    vanished, color, project, deltaPct,
  };
});
