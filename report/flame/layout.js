// layout.js — the geometry of the flame-graph page (docs/FLAME_PAGE.md): where each frame
// of a tree is drawn under a zoom root, what is under a point, how a name is shortened to
// fit, how numbers are written and what colour a frame gets. No DOM: it runs in the page
// and under Node (tests/js).
(function (root, factory) {
  'use strict';
  const api = factory();
  if (typeof module === 'object' && module.exports) module.exports = api;
  else (root.nsprof = root.nsprof || {}).layout = api;
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  // Narrower than this a frame is not drawn, nor anything under it: a page with 100,000
  // stacks would otherwise paint mostly invisible slivers.
  const MIN_WIDTH_PX = 0.5;

  // The rectangles of tree t with zoom root z on a width of `width` px: z's ancestors span
  // the whole width (so the user sees where they are and can click back), z's subtree is
  // scaled so z spans it. A frame's level is its depth. Returns columns id, x, w, level.
  function layoutTree(t, z, width, minWidth) {
    const min = minWidth === undefined ? MIN_WIDTH_PX : minWidth;
    const ids = [], xs = [], ws = [], levels = [];
    const push = (i, x, w) => { ids.push(i); xs.push(x); ws.push(w); levels.push(t.depth[i]); };
    for (let a = t.parent[z]; a >= 0; a = t.parent[a]) push(a, 0, width);
    ids.reverse(); levels.reverse();
    const zt = t.total[z];
    if (!(zt > 0)) {
      push(z, 0, width);
      return { id: ids, x: xs, w: ws, level: levels, maxLevel: t.depth[z] };
    }
    const scale = width / zt, base = t.depth[z];
    const cursor = [0];
    let maxLevel = base;
    for (let i = z; i < t.end[z]; ) {
      const rel = t.depth[i] - base;
      const x = cursor[rel], w = t.total[i] * scale;
      if (w < min && i !== z) {
        cursor[rel] = x + w;
        i = t.end[i];
        continue;
      }
      push(i, x, w);
      if (t.depth[i] > maxLevel) maxLevel = t.depth[i];
      cursor[rel] = x + w;
      cursor[rel + 1] = x;
      i++;
    }
    return { id: ids, x: xs, w: ws, level: levels, maxLevel };
  }

  // The index into a layout of the rectangle at (x, level), or -1.
  function hitTest(lay, x, level) {
    for (let k = 0; k < lay.id.length; k++)
      if (lay.level[k] === level && x >= lay.x[k] && x < lay.x[k] + lay.w[k]) return k;
    return -1;
  }

  // The longest prefix of text (with an ellipsis) whose measured width fits, or '' when
  // not even two characters do. measure(s) returns a width in px.
  function fitLabel(text, width, measure) {
    if (measure(text) <= width) return text;
    let lo = 0, hi = text.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (measure(text.slice(0, mid) + '…') <= width) lo = mid;
      else hi = mid - 1;
    }
    return lo >= 2 ? text.slice(0, lo) + '…' : '';
  }

  // Fixed digits without trailing zeros after the point (1.50 -> 1.5, never 230 -> 23).
  function trim(x, digits) {
    const s = x.toFixed(digits);
    return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  }

  // A weight in its unit, short: 1.5 s, 230 ms, 12 MiB, 3.4M.
  function formatValue(v, unit) {
    const a = Math.abs(v);
    if (unit === '%') return trim(v, a >= 10 ? 1 : a >= 0.1 ? 2 : 3) + '%'; // a diff's shares
    if (unit === 'ns') {
      // Thresholds just under 1000 of the smaller unit, so 999.9 ms reads 1 s, not 1000 ms.
      if (a >= 999.5e6) return trim(v / 1e9, a >= 99.95e9 ? 0 : 2) + ' s';
      if (a >= 999.5e3) return trim(v / 1e6, a >= 99.95e6 ? 0 : 2) + ' ms';
      if (a >= 999.5) return trim(v / 1e3, a >= 99.95e3 ? 0 : 2) + ' µs';
      return trim(v, 0) + ' ns';
    }
    if (unit === 'bytes') {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let u = 0, x = v;
      while (Math.abs(x) >= 1024 && u < units.length - 1) { x /= 1024; u++; }
      return trim(x, u === 0 || Math.abs(x) >= 100 ? 0 : 1) + ' ' + units[u];
    }
    if (a >= 1e9) return trim(v / 1e9, 2) + 'G';
    if (a >= 1e6) return trim(v / 1e6, 2) + 'M';
    if (a >= 1e4) return trim(v / 1e3, 1) + 'k';
    return trim(v, 0);
  }

  // A change before -> after: "+12 ms (+4.1%)", "(new)" for something from nothing.
  function formatChange(before, after, unit) {
    const d = after - before;
    if (d === 0) return '0';
    const pct = before > 0 ? (100 * d) / before : null;
    return (d > 0 ? '+' : '') + formatValue(d, unit) + (pct === null ? ' (new)' : ' (' + (pct > 0 ? '+' : '') + pct.toFixed(1) + '%)');
  }

  function formatShare(part, whole) {
    if (!(whole > 0)) return '0%';
    const p = (100 * part) / whole;
    return (p >= 10 || p === 0 ? p.toFixed(1) : p >= 0.01 ? p.toFixed(2) : '<0.01') + '%';
  }

  // FNV-1a: a stable small hash, so a module keeps its colour from one page to the next.
  function hashString(s) {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h;
  }

  // Kinds: user warm orange, library yellow, kernel blue, inlined teal, pseudo grey.
  const KIND_HUE = { user: 18, library: 48, kernel: 210, inlined: 170, pseudo: 0 };

  // The fill of a frame: kind mode by its kind, module mode by a hue from the module name;
  // the name varies the lightness a little so neighbours stay apart. A search dims what
  // it does not match.
  function frameColor(mode, kind, module, name, matched, searching) {
    const jitter = hashString(name) % 12;
    if (searching && !matched) return 'hsl(0, 0%, ' + (82 + (jitter % 6)) + '%)';
    if (searching && matched) return 'hsl(300, 75%, ' + (58 + (jitter % 8)) + '%)';
    if (kind === 'pseudo') return 'hsl(0, 0%, ' + (70 + (jitter % 8)) + '%)';
    const hue = mode === 'module' ? hashString(module || '?') % 360 : KIND_HUE[kind] === undefined ? 48 : KIND_HUE[kind];
    const sat = mode === 'module' ? 55 : kind === 'kernel' ? 55 : 80;
    return 'hsl(' + hue + ', ' + sat + '%, ' + (58 + jitter) + '%)';
  }

  return { MIN_WIDTH_PX, layoutTree, hitTest, fitLabel, formatValue, formatChange, formatShare, hashString, frameColor };
});
