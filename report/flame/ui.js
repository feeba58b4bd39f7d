// ui.js — the page's state and its flame graph on a canvas (docs/FLAME_PAGE.md): which
// trees are shown (the view, a time range, inverted, a sandwich), their layout, drawing,
// hovering and clicking. The panels around it (tabs, time line, tables, findings) are in
// ui_panels.js; main.js decodes the data and starts the page.
//
// Names from the profile reach the screen only through fillText and textContent.
(function (NS) {
  'use strict';
  const M = NS.model, L = NS.layout, D = NS.diff;
  const ROW = 18, TITLE = 20, CHAR_W = 7.2;
  const FONT = '12px ui-monospace, Menlo, Consolas, monospace';

  function App(doc, els) {
    this.doc = doc;
    this.els = els;
    this.state = { view: 0, range: null, inverted: false, sandwich: -1, colorMode: 'kind', search: null, shape: 'after' };
    this.diff = doc.diff || null; // diff mode (diff.js): frames coloured by their change
    this.cache = new Map(); // the trees derived from a view, by what derived them
    this.panes = [];
    this.drawn = 0;
    this.bindFlameEvents();
  }
  NS.App = App;

  App.prototype.view = function () {
    return this.doc.views[this.state.view];
  };

  App.prototype.cached = function (key, make) {
    let v = this.cache.get(key);
    if (v === undefined) {
      v = make();
      this.cache.set(key, v);
    }
    return v;
  };

  // The view's tree for the selected range (the whole run without one, or for a view
  // that has no time line).
  App.prototype.baseTree = function () {
    if (this.diff) return this.diffBase().tree;
    const v = this.view(), r = this.state.range;
    if (!r || !v.timeline) return v.tree;
    const [b0, b1] = M.bucketsOf(v.timeline, r.t0, r.t1);
    return this.cached(this.state.view + '|r' + b0 + ':' + b1, () => M.rangeTree(v, b0, b1));
  };

  App.prototype.rangeKey = function () {
    const v = this.view(), r = this.state.range;
    if (!r || !v.timeline) return '';
    return M.bucketsOf(v.timeline, r.t0, r.t1).join(':');
  };

  // The panes to draw: the tree (root at the bottom), the inverted tree (top-down) or a
  // sandwich (callers above the function, callees below). The last pane is the main one,
  // which the API's node ids refer to.
  App.prototype.computePanes = function () {
    if (this.diff) return this.computeDiffPanes();
    const base = this.baseTree(), key = this.state.view + '|' + this.rangeKey();
    const s = this.state, name = s.sandwich >= 0 ? M.frameName(this.doc, s.sandwich) : '';
    let panes;
    if (s.sandwich >= 0) {
      const sw = this.cached(key + '|s' + s.sandwich, () => M.sandwichTrees(base, s.sandwich));
      panes = [{ tree: sw.callers, up: true, title: 'Callers of ' + name },
               { tree: sw.callees, up: false, title: 'Callees of ' + name }];
    } else if (s.inverted) {
      panes = [{ tree: this.cached(key + '|inv', () => M.invertedTree(base)), up: false, title: '' }];
    } else {
      panes = [{ tree: base, up: true, title: '' }];
    }
    for (const p of panes) p.zoom = 0;
    this.panes = panes;
  };

  // Diff mode: each side's weights over the view's union tree (diff.js columns).
  App.prototype.diffColumns = function () {
    const vi = this.state.view;
    return this.cached(vi + '|dcols', () => D.columns(this.diff, vi, this.view().tree.n, 'nodes'));
  };

  // Diff mode: the weights of the drawn shape's side and of the other side.
  App.prototype.diffSides = function () {
    const c = this.diffColumns();
    return this.state.shape === 'before' ? [c.bSelf, c.aSelf] : [c.aSelf, c.bSelf];
  };

  // Diff mode: the tree in the chosen side's shape ({ tree, umap }): the union tree itself
  // for the after side (its weights are the after side's), rebuilt for the before side.
  App.prototype.diffBase = function () {
    const u = this.view().tree, [self, other] = this.diffSides();
    return this.cached(this.state.view + '|' + this.state.shape, () =>
      this.state.shape === 'before' ? D.reshape(u, self, other) : { tree: u, umap: D.identity(u.n) });
  };

  // Diff mode's panes: as computePanes, every tree derived from the union tree with both
  // sides' weights, each pane judged (pane.diff).
  App.prototype.computeDiffPanes = function () {
    const s = this.state, u = this.view().tree, [self, other] = this.diffSides();
    const key = s.view + '|' + s.shape, name = s.sandwich >= 0 ? M.frameName(this.doc, s.sandwich) : '';
    let panes;
    if (s.sandwich >= 0) {
      const sw = this.cached(key + '|s' + s.sandwich, () => D.sandwich(u, s.sandwich, self, other));
      panes = [{ src: sw.callers, up: true, title: 'Callers of ' + name }, { src: sw.callees, up: false, title: 'Callees of ' + name }];
    } else if (s.inverted) {
      panes = [{ src: this.cached(key + '|inv', () => D.inverted(u, self, other)), up: false, title: '' }];
    } else {
      panes = [{ src: this.diffBase(), up: true, title: '' }];
    }
    const cols = this.diffColumns();
    for (const p of panes) {
      p.tree = p.src.tree;
      p.umap = p.src.umap;
      p.diff = p.src.judged || (p.src.judged = D.judgeTree(this.diff, s.view, cols, p.tree, p.umap));
      p.zoom = 0;
    }
    this.panes = panes;
  };

  App.prototype.mainPane = function () {
    return this.panes[this.panes.length - 1];
  };

  App.prototype.canvasWidth = function () {
    return Math.max(200, Math.floor(this.els.flame.parentElement.clientWidth || 1200));
  };

  // Lays every pane out and paints them on the one canvas, stacked.
  App.prototype.drawFlame = function () {
    const canvas = this.els.flame, width = this.canvasWidth();
    let y = 0;
    for (const p of this.panes) {
      p.layout = L.layoutTree(p.tree, p.zoom, width);
      // A pane keeps the height of its unzoomed graph: a click that zooms must not move the
      // rows under the pointer (the second click of a double-click lands where the first did).
      p.levels = p.zoom ? Math.max(p.layout.maxLevel, L.layoutTree(p.tree, 0, width).maxLevel)
                        : p.layout.maxLevel;
      p.top = y + (p.title ? TITLE : 0);
      p.height = (p.levels + 1) * ROW;
      y = p.top + p.height + (this.panes.length > 1 ? 8 : 0);
    }
    const dpr = window.devicePixelRatio || 1;
    canvas.style.height = y + 'px';
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(y * dpr);
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, y);
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    this.drawn = 0;
    for (const p of this.panes) this.paintPane(ctx, p);
  };

  App.prototype.rowY = function (p, level) {
    return p.up ? p.top + (p.levels - level) * ROW : p.top + level * ROW;
  };

  App.prototype.paintPane = function (ctx, p) {
    const doc = this.doc, lay = p.layout, t = p.tree, s = this.state;
    const hit = s.search && s.search.hit, searching = !!hit;
    if (p.title) {
      ctx.fillStyle = '#444';
      ctx.fillText(L.fitLabel(p.title, lay.w[0] || 800, (x) => x.length * CHAR_W), 2, p.top - TITLE / 2);
    }
    const zoomDepth = t.depth[p.zoom];
    for (let k = 0; k < lay.id.length; k++) {
      const id = lay.id[k], f = t.frame[id], x = lay.x[k], w = lay.w[k];
      const yy = this.rowY(p, lay.level[k]);
      const info = M.frameInfo(doc, f);
      const matched = searching && f >= 0 && hit[f] === 1;
      ctx.fillStyle = p.diff && !searching ? D.color(p.diff.bTotal[id], p.diff.aTotal[id], p.diff.noise[id], info.name)
                                           : L.frameColor(s.colorMode, info.kind, info.module, info.name, matched, searching);
      // Ancestors of the zoom root are drawn paler: they are context, not scaled.
      ctx.globalAlpha = t.depth[id] < zoomDepth ? 0.55 : 1;
      ctx.fillRect(x, yy, Math.max(w - 0.5, 0.5), ROW - 1);
      ctx.globalAlpha = 1;
      this.drawn++;
      if (w < 3 * CHAR_W) continue;
      const label = L.fitLabel(info.name, w - 6, (str) => str.length * CHAR_W);
      if (!label) continue;
      ctx.fillStyle = '#111';
      ctx.fillText(label, x + 3, yy + ROW / 2);
    }
  };

  // The pane and node under canvas point (x, y), or null.
  App.prototype.hitAt = function (x, y) {
    for (let pi = 0; pi < this.panes.length; pi++) {
      const p = this.panes[pi];
      if (!p.layout || y < p.top || y >= p.top + p.height) continue;
      const row = Math.floor((y - p.top) / ROW);
      const level = p.up ? p.levels - row : row;
      const k = L.hitTest(p.layout, x, level);
      if (k >= 0) return { pane: pi, id: p.layout.id[k] };
    }
    return null;
  };

  App.prototype.rectOf = function (paneIndex, id) {
    const p = this.panes[paneIndex];
    if (!p || !p.layout) return null;
    const k = p.layout.id.indexOf(id);
    if (k < 0) return null;
    return { x: p.layout.x[k], y: this.rowY(p, p.layout.level[k]), w: p.layout.w[k], h: ROW - 1 };
  };

  // The API's description of node id of tree t (of pane p: in diff mode, with its change).
  App.prototype.nodeInfo = function (t, id, p) {
    if (!(id >= 0 && id < t.n)) return null;
    const info = M.frameInfo(this.doc, t.frame[id]);
    const n = { id, name: info.name, module: info.module, file: info.file, line: info.line, kind: info.kind,
                self: t.self[id], total: t.total[id], depth: t.depth[id], parent: t.parent[id] };
    const d = p && p.tree === t ? p.diff : null;
    if (d) {
      const b = d.bTotal[id], a = d.aTotal[id];
      Object.assign(n, {
        before: b, after: a, beforeSelf: d.bSelf[id], afterSelf: d.aSelf[id], delta: a - b, deltaPct: D.deltaPct(b, a),
        noise: !!d.noise[id], p: Number.isNaN(d.p[id]) ? null : d.p[id], verdict: D.verdict(b, a, d.noise[id]),
        presence: b > 0 && a > 0 ? 'both' : a > 0 ? 'appeared' : b > 0 ? 'vanished' : 'none',
        color: D.color(b, a, d.noise[id], info.name),
      });
    }
    return n;
  };

  App.prototype.tooltipLines = function (p, id) {
    const t = p.tree, n = this.nodeInfo(t, id, p), unit = this.view().unit, all = t.total[0];
    const lines = [n.name];
    const where = [n.module, n.file ? n.file + (n.line ? ':' + n.line : '') : ''].filter(Boolean).join('  ');
    if (where) lines.push(where);
    if (n.verdict) {
      lines.push('total  before ' + L.formatValue(n.before, unit) + ' → after ' + L.formatValue(n.after, unit) + '  ' + L.formatChange(n.before, n.after, unit));
      lines.push('self   before ' + L.formatValue(n.beforeSelf, unit) + ' → after ' + L.formatValue(n.afterSelf, unit) + '  ' + L.formatChange(n.beforeSelf, n.afterSelf, unit));
      const presence = n.presence === 'appeared' ? ' · appeared (after only)' : n.presence === 'vanished' ? ' · vanished (before only)' : '';
      lines.push((n.noise ? 'within noise' : n.verdict + ', beyond noise') + (n.p === null ? '' : ' (p = ' + n.p.toPrecision(2) + ')') + presence);
    } else {
      lines.push('total ' + L.formatValue(n.total, unit) + ' (' + L.formatShare(n.total, all) + ')' +
                 '   self ' + L.formatValue(n.self, unit) + ' (' + L.formatShare(n.self, all) + ')');
    }
    lines.push(n.kind + ' · click: zoom · shift+click: sandwich');
    return lines;
  };

  App.prototype.showTooltip = function (hit, px, py) {
    const tip = this.els.tooltip;
    if (!hit) {
      tip.hidden = true;
      return;
    }
    const lines = this.tooltipLines(this.panes[hit.pane], hit.id);
    tip.textContent = '';
    lines.forEach((text, i) => {
      const div = document.createElement('div');
      if (i === 0) div.className = 'tt-name';
      div.textContent = text;
      tip.appendChild(div);
    });
    tip.hidden = false;
    const box = this.els.flame.parentElement.clientWidth;
    tip.style.left = Math.max(0, Math.min(px + 12, box - tip.offsetWidth - 4)) + 'px';
    tip.style.top = py + 16 + 'px';
  };

  App.prototype.canvasPoint = function (ev) {
    const r = this.els.flame.getBoundingClientRect();
    return [ev.clientX - r.left, ev.clientY - r.top];
  };

  App.prototype.bindFlameEvents = function () {
    const c = this.els.flame;
    c.addEventListener('mousemove', (ev) => {
      const [x, y] = this.canvasPoint(ev);
      this.showTooltip(this.hitAt(x, y), x, y);
    });
    c.addEventListener('mouseleave', () => this.showTooltip(null));
    c.addEventListener('click', (ev) => {
      const [x, y] = this.canvasPoint(ev);
      const hit = this.hitAt(x, y);
      if (!hit) return;
      const f = this.panes[hit.pane].tree.frame[hit.id];
      if (ev.shiftKey && f >= 0) this.setSandwich(f);
      else this.zoomPane(hit.pane, hit.id);
    });
    c.addEventListener('dblclick', (ev) => {
      const [x, y] = this.canvasPoint(ev);
      const hit = this.hitAt(x, y);
      if (hit && this.panes[hit.pane].tree.frame[hit.id] >= 0) this.setSandwich(this.panes[hit.pane].tree.frame[hit.id]);
    });
  };

  App.prototype.zoomPane = function (paneIndex, id) {
    const p = this.panes[paneIndex];
    if (!p || !(id >= 0 && id < p.tree.n)) return false;
    p.zoom = id;
    this.drawFlame();
    return true;
  };

  App.prototype.setSandwich = function (frame) {
    this.state.sandwich = frame;
    this.refresh();
  };

  // Recomputes everything the state decides and redraws the page.
  // keepZoom: zoom the new trees to the same call path where it still exists (a time range
  // changes the weights, not what the user was looking at).
  App.prototype.refresh = function (keepZoom) {
    const paths = keepZoom ? this.panes.map((p) => this.zoomPath(p)) : null;
    this.computePanes();
    if (paths && paths.length === this.panes.length)
      this.panes.forEach((p, i) => (p.zoom = this.followPath(p.tree, paths[i])));
    this.applySearch();
    this.drawFlame();
    this.renderPanels();
  };

  // The frames from the root to a pane's zoom root.
  App.prototype.zoomPath = function (p) {
    const path = [];
    for (let i = p.zoom; i > 0; i = p.tree.parent[i]) path.unshift(p.tree.frame[i]);
    return path;
  };

  // The deepest node of t along path (frames from the root), 0 if not even the first is.
  App.prototype.followPath = function (t, path) {
    let at = 0;
    for (const f of path) {
      let next = -1;
      for (let c = at + 1; c < t.end[at] && next < 0; c = t.end[c]) if (t.frame[c] === f) next = c;
      if (next < 0) break;
      at = next;
    }
    return at;
  };

  // Re-runs the search on the main pane's tree (after a view, range or mode change).
  App.prototype.applySearch = function () {
    const s = this.state.search;
    if (!s || !s.hit) return;
    s.result = Object.assign({ pattern: s.pattern }, M.searchShare(this.mainPane().tree, s.hit));
  };

  App.prototype.setSearch = function (pattern) {
    if (!pattern) {
      this.state.search = null;
    } else {
      try {
        const hit = M.matcher(this.doc, pattern);
        this.state.search = { pattern, hit, result: null };
        this.applySearch();
      } catch (e) {
        this.state.search = { pattern, hit: null, result: { pattern, error: String(e.message || e) } };
      }
    }
    this.drawFlame();
    this.renderSearchShare();
    return this.state.search ? this.state.search.result : null;
  };
})(typeof self !== 'undefined' ? (self.nsprof = self.nsprof || {}) : {});
