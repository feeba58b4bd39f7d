// ui_panels.js — the panels around the flame graph (docs/FLAME_PAGE.md): view tabs,
// toolbar, time line with range selection, hotspot tables and recommendations. Extends
// the App of ui.js. Every profile string is set with textContent.
(function (NS) {
  'use strict';
  const M = NS.model, L = NS.layout, D = NS.diff, App = NS.App;
  const TABLE_ROWS = 200;

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  App.prototype.renderPanels = function () {
    this.renderTabs();
    this.renderToolbar();
    this.drawTimeline();
    this.renderLegend();
    // The tables rank every function of the tree: on a big profile that is a tenth of a
    // second, so they come in the next task, after the flame graph is on screen.
    clearTimeout(this.tablesPending);
    this.tablesPending = setTimeout(() => this.renderTables(), 0);
  };

  // Diff mode: draw the before side's shape (frames that vanished become visible) or the
  // after side's.
  App.prototype.setShape = function (shape) {
    if (!this.diff || (shape !== 'before' && shape !== 'after')) return false;
    this.state.shape = shape;
    this.refresh(true);
    return true;
  };

  App.prototype.renderTabs = function () {
    const nav = this.els.views;
    nav.textContent = '';
    this.doc.views.forEach((v, i) => {
      const b = el('button', (i === this.state.view ? 'active' : '') + (v.total > 0 ? '' : ' empty'));
      b.type = 'button';
      b.title = v.aggregate ? 'totals of interposed calls' : v.samples + ' samples';
      b.appendChild(document.createTextNode(v.name));
      b.appendChild(el('span', 'dim', L.formatValue(v.total, v.unit)));
      b.addEventListener('click', () => this.setView(i));
      nav.appendChild(b);
    });
  };

  App.prototype.setView = function (i) {
    if (!(i >= 0 && i < this.doc.views.length)) return false;
    this.state.view = i;
    this.state.sandwich = -1;
    this.refresh();
    return true;
  };

  App.prototype.renderToolbar = function () {
    const s = this.state, e = this.els;
    e.inverted.checked = s.inverted;
    e.inverted.disabled = s.sandwich >= 0;
    e.colorMode.value = s.colorMode;
    e.clearRange.disabled = !s.range;
    // Diff mode: colour is the change, there is no time line (two runs have two clocks).
    e.colorBox.hidden = e.clearRange.hidden = e.timelineBox.hidden = !!this.diff;
    e.shapeBox.hidden = !this.diff;
    e.beforeShape.checked = s.shape === 'before';
    e.sandwichBox.hidden = s.sandwich < 0;
    e.sandwichName.textContent = s.sandwich >= 0 ? M.frameName(this.doc, s.sandwich) : '';
    this.renderSearchShare();
  };

  App.prototype.renderSearchShare = function () {
    const s = this.state.search, out = this.els.searchShare, input = this.els.search;
    input.classList.toggle('bad', !!(s && s.result && s.result.error));
    if (!s || !s.result) {
      out.textContent = '';
    } else if (s.result.error) {
      out.textContent = 'bad expression: ' + s.result.error;
    } else {
      const r = s.result, unit = this.view().unit;
      out.textContent = 'matched ' + L.formatShare(r.weight, r.total) + ' (' + L.formatValue(r.weight, unit) +
                        ' in ' + r.matches + ' frame' + (r.matches === 1 ? '' : 's') + ')';
    }
  };

  App.prototype.bindToolbar = function () {
    const e = this.els;
    let pending = 0;
    e.search.addEventListener('input', () => {
      // Typing into a big profile: search once the user pauses, not on every key.
      clearTimeout(pending);
      pending = setTimeout(() => this.setSearch(e.search.value), 150);
    });
    e.inverted.addEventListener('change', () => {
      this.state.inverted = e.inverted.checked;
      this.refresh();
    });
    e.beforeShape.addEventListener('change', () => this.setShape(e.beforeShape.checked ? 'before' : 'after'));
    e.colorMode.addEventListener('change', () => {
      this.state.colorMode = e.colorMode.value;
      this.drawFlame();
      this.renderLegend();
    });
    e.resetZoom.addEventListener('click', () => {
      for (const p of this.panes) p.zoom = 0;
      this.drawFlame();
    });
    e.clearRange.addEventListener('click', () => this.setRange(null));
    e.sandwichClose.addEventListener('click', () => this.setSandwich(-1));
    // Keys as in other viewers: `/` to search, Escape to back out one step (search box,
    // then sandwich, then zoom).
    window.addEventListener('keydown', (ev) => {
      if (ev.key === '/' && document.activeElement !== e.search) {
        ev.preventDefault();
        e.search.focus();
      } else if (ev.key === 'Escape') {
        this.backOut();
      }
    });
    window.addEventListener('resize', () => {
      this.drawFlame();
      this.drawTimeline();
    });
    this.bindTimeline();
  };

  App.prototype.backOut = function () {
    const e = this.els;
    if (document.activeElement === e.search) {
      e.search.blur();
    } else if (this.state.sandwich >= 0) {
      this.setSandwich(-1);
    } else {
      for (const p of this.panes) p.zoom = 0;
      this.drawFlame();
    }
  };

  App.prototype.setRange = function (r) {
    this.state.range = r && r.t1 > r.t0 ? { t0: r.t0, t1: r.t1 } : null;
    this.refresh(true);
  };

  // The time line: the view's weight per bucket as bars, the heap in use as a line over
  // them, the selected range shaded.
  App.prototype.drawTimeline = function () {
    const c = this.els.timeline, v = this.view(), doc = this.doc;
    const width = Math.max(200, c.parentElement.clientWidth), height = 64, dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const span = Math.max(doc.durationNs, 1);
    const caption = [];
    if (v.timeline) {
      const w = v.timeline.weights, nb = w.length, bw = (v.timeline.bucketNs / span) * width;
      let max = 0;
      for (let i = 0; i < nb; i++) if (w[i] > max) max = w[i];
      ctx.fillStyle = '#e07b39';
      for (let i = 0; i < nb && max > 0; i++) {
        const h = (w[i] / max) * (height - 4);
        ctx.fillRect(i * bw, height - h, Math.max(bw - 0.3, 0.5), h);
      }
      caption.push(v.name + ' per ' + L.formatValue(v.timeline.bucketNs, 'ns') + ' (peak ' + L.formatValue(max, v.unit) + ')');
    } else {
      caption.push(v.name + ' is a snapshot: no time line; a range does not apply to it');
    }
    for (const s of doc.series) {
      if (s.name !== 'heap_live_bytes' || !s.t.length) continue;
      let max = 0;
      for (let i = 0; i < s.v.length; i++) if (s.v[i] > max) max = s.v[i];
      ctx.strokeStyle = '#2c6fbb';
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let i = 0; i < s.t.length; i++) {
        const x = (s.t[i] / span) * width, y = height - 2 - (max > 0 ? (s.v[i] / max) * (height - 6) : 0);
        if (i) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
      }
      ctx.stroke();
      caption.push('heap in use (pid ' + s.pid + ', peak ' + L.formatValue(max, 'bytes') + ')');
    }
    const r = this.state.range || this.dragRange;
    if (r) {
      ctx.fillStyle = 'rgba(40, 90, 200, 0.18)';
      ctx.fillRect((r.t0 / span) * width, 0, ((r.t1 - r.t0) / span) * width, height);
      caption.push('range ' + L.formatValue(r.t0, 'ns') + ' – ' + L.formatValue(r.t1, 'ns'));
    } else {
      caption.push('drag to select a range');
    }
    this.els.timelineCaption.textContent = caption.join(' · ');
  };

  App.prototype.bindTimeline = function () {
    const c = this.els.timeline;
    const timeAt = (ev) => {
      const r = c.getBoundingClientRect();
      const x = Math.max(0, Math.min(r.width, ev.clientX - r.left));
      return (x / r.width) * Math.max(this.doc.durationNs, 1);
    };
    let start = null;
    c.addEventListener('mousedown', (ev) => {
      start = timeAt(ev);
      ev.preventDefault();
    });
    window.addEventListener('mousemove', (ev) => {
      if (start === null) return;
      const t = timeAt(ev);
      this.dragRange = { t0: Math.min(start, t), t1: Math.max(start, t) };
      this.drawTimeline();
    });
    window.addEventListener('mouseup', (ev) => {
      if (start === null) return;
      const t = timeAt(ev), r = { t0: Math.min(start, t), t1: Math.max(start, t) };
      start = null;
      this.dragRange = null;
      // A click without a drag clears the range.
      this.setRange(r.t1 - r.t0 > this.doc.durationNs / 1000 ? r : null);
    });
  };

  const COLUMNS = {
    function: [['name', 'Function'], ['self', 'Self'], ['total', 'Total'], ['calls', 'Calls']],
    line: [['name', 'Function'], ['file', 'Line'], ['self', 'Self']],
  };
  // Diff mode: each side, the change and its verdict; `vanished` lists what the after
  // shape cannot draw.
  const DIFF_COLUMNS = {
    function: [['name', 'Function'], ['before', 'Self before'], ['after', 'Self after'], ['delta', 'Δ self'],
               ['totalDelta', 'Δ total'], ['verdict', 'Verdict']],
    line: [['name', 'Function'], ['file', 'Line'], ['before', 'Before'], ['after', 'After'], ['delta', 'Δ'], ['verdict', 'Verdict']],
    vanished: [['name', 'Function'], ['caller', 'Called from'], ['before', 'Before']],
  };

  App.prototype.columnsOf = function (by) {
    return (this.diff ? DIFF_COLUMNS : COLUMNS)[by];
  };

  App.prototype.diffTableRows = function (by) {
    const vi = this.state.view, v = this.view();
    if (by === 'vanished') return this.cached(vi + '|vanished', () => D.vanished(this.doc, v.tree, this.diffColumns())).slice();
    if (by === 'line')
      return this.cached(vi + '|dlines', () => D.lineRows(this.doc, this.diff, vi, v).map((r) => Object.assign(r, { change: Math.abs(r.delta) }))).slice();
    const base = this.diffBase();
    return this.cached(vi + '|' + this.state.shape + '|dfunc', () =>
      D.functionRows(this.doc, this.diff, vi, this.diffColumns(), base.tree, base.umap).map((r) =>
        Object.assign(r, { change: Math.abs(r.delta), totalDelta: r.totalAfter - r.totalBefore }))).slice();
  };

  App.prototype.tableRows = function (by) {
    const v = this.view();
    if (this.diff) {
      const [column, desc] = this.sort[by];
      return M.sortRows(this.diffTableRows(by), column, desc);
    }
    // The tables follow the range, not the zoom, inversion or sandwich: they rank the
    // whole (range's) tree.
    const rows = by === 'line' ? M.lineRows(this.doc, v) : M.functionRows(this.doc, v, this.baseTree());
    const [column, desc] = this.sort[by];
    return M.sortRows(rows, column, desc);
  };

  App.prototype.renderTables = function () {
    for (const by of ['function', 'line']) this.renderTable(by);
    this.els.vanishedBox.hidden = !this.diff;
    if (this.diff) this.renderTable('vanished');
  };

  App.prototype.cellText = function (key, r, unit, all) {
    // An inlined copy is a frame of its own: say so, or it reads as a duplicate row.
    if (key === 'name') return r.kind === 'inlined' ? r.name + ' (inlined)' : r.name;
    if (key === 'file') return (r.file || '?') + ':' + r.line;
    if (key === 'calls') return r.calls === null ? '' : L.formatValue(r.calls, 'count');
    if (key === 'caller') return r.caller;
    if (key === 'before' || key === 'after') return L.formatValue(r[key], unit);
    if (key === 'delta') return L.formatChange(r.before, r.after, unit);
    if (key === 'totalDelta') return L.formatChange(r.totalBefore, r.totalAfter, unit);
    if (key === 'verdict')
      return r.totalVerdict && r.totalVerdict !== r.verdict ? r.verdict + ' · total ' + r.totalVerdict : r.verdict;
    return L.formatValue(r[key], unit) + '  ' + L.formatShare(r[key], all);
  };

  App.prototype.renderTable = function (by) {
    const table = { line: this.els.byLine, vanished: this.els.vanished }[by] || this.els.byFunction;
    const note = { line: this.els.byLineNote, vanished: this.els.vanishedNote }[by] || this.els.byFunctionNote;
    const v = this.view(), all = this.baseTree().total[0], rows = this.tableRows(by);
    const cols = this.columnsOf(by).filter(([key]) => key !== 'calls' || rows.some((r) => r.calls !== null));
    table.textContent = '';
    const head = el('tr');
    for (const [key, label] of cols) {
      const th = el('th', key === 'name' || key === 'file' ? 'name' : '', label);
      if (this.sort[by][0] === key) th.className += ' sorted' + (this.sort[by][1] ? '' : ' asc');
      th.addEventListener('click', () => this.sortTable(by, key, this.sort[by][0] === key ? !this.sort[by][1] : !['name', 'file', 'caller', 'verdict'].includes(key)));
      head.appendChild(th);
    }
    table.appendChild(el('thead')).appendChild(head);
    const body = table.appendChild(el('tbody'));
    for (const r of rows.slice(0, TABLE_ROWS)) {
      const tr = el('tr');
      for (const [key] of cols) {
        const cls = key === 'name' || key === 'file' || key === 'caller' ? 'name' : key === 'verdict' ? 'v-' + r.verdict : '';
        tr.appendChild(el('td', cls, this.cellText(key, r, v.unit, all)));
      }
      tr.title = [r.module, r.file && r.line ? r.file + ':' + r.line : r.file].filter(Boolean).join('  ');
      tr.addEventListener('click', () => (by === 'vanished' ? this.openVanished(r.node) : this.zoomToFunction(r.name)));
      body.appendChild(tr);
    }
    note.textContent = (rows.length > TABLE_ROWS ? 'the first ' + TABLE_ROWS + ' of ' + rows.length + ' rows' : rows.length + ' rows') +
      (by === 'line' ? ' · weight where the line was the leaf, over the whole run' : '') +
      (by === 'vanished' ? ' · click one to draw the before shape at it' : '') +
      (by === 'function' && !this.diff && !rows.some((r) => r.calls !== null) ? ' · calls: not known for ' + v.name : '');
  };

  // Diff mode: a vanished frame (a node of the union tree) shown where the before shape has it.
  App.prototype.openVanished = function (node) {
    if (!this.diff || !(node > 0 && node < this.view().tree.n)) return null;
    this.state.sandwich = -1;
    this.state.inverted = false;
    this.state.shape = 'before';
    this.refresh();
    const id = this.mainPane().umap[node];
    if (id >= 0) this.zoomPane(this.panes.length - 1, id);
    this.els.flame.scrollIntoView({ block: 'nearest' });
    return id;
  };

  App.prototype.sortTable = function (by, column, descending) {
    const cols = this.columnsOf(by);
    if (!cols || !cols.some(([key]) => key === column)) return false;
    this.sort[by] = [column, !!descending];
    this.renderTable(by);
    return true;
  };

  // Zooms the main pane to the heaviest node of the function (leaving a sandwich or an
  // inverted tree in which it does not appear).
  App.prototype.zoomToFunction = function (name) {
    let ids = M.findNodes(this.doc, this.mainPane().tree, name);
    if (!ids.length && (this.state.sandwich >= 0 || this.state.inverted)) {
      this.state.sandwich = -1;
      this.state.inverted = false;
      this.refresh();
      ids = M.findNodes(this.doc, this.mainPane().tree, name);
    }
    if (!ids.length) return null;
    this.zoomPane(this.panes.length - 1, ids[0]);
    this.els.flame.scrollIntoView({ block: 'nearest' });
    return ids[0];
  };

  App.prototype.renderRecommendations = function () {
    const recs = this.doc.recommendations, list = this.els.recs;
    this.els.recsBox.hidden = recs.length === 0;
    list.textContent = '';
    recs.forEach((r, i) => {
      const li = el('li');
      const title = li.appendChild(el('div', 'rec-title'));
      title.appendChild(el('span', 'sev sev-' + (['high', 'medium', 'low'].includes(r.severity) ? r.severity : 'info'), String(r.severity || 'info')));
      title.appendChild(el('b', '', String(r.rule || '?')));
      const where = [r.function, r.file ? r.file + (r.line ? ':' + r.line : '') : ''].filter(Boolean).join(' at ');
      if (where) title.appendChild(el('span', 'mono', '  ' + where));
      li.appendChild(el('div', 'rec-detail', String(r.evidence || '')));
      li.appendChild(el('div', 'rec-detail', '→ ' + String(r.suggestion || '')));
      li.addEventListener('click', () => this.openFinding(i));
      list.appendChild(li);
    });
  };

  // What a click on finding i does: its view, then its node (or its function).
  App.prototype.openFinding = function (i) {
    const r = this.doc.recommendations[i];
    if (!r) return null;
    const node = r.node && typeof r.node === 'object' ? r.node : {};
    const name = Object.keys(node).find((k) => this.doc.views.some((v) => v.name === k)) ||
                 (this.doc.views.some((v) => v.name === r.event) ? r.event : null);
    if (name) {
      this.state.range = null;
      this.state.inverted = false;
      this.setView(this.doc.views.findIndex((v) => v.name === name));
    }
    const id = node[name];
    if (typeof id === 'number' && id >= 0 && id < this.mainPane().tree.n) {
      this.zoomPane(this.panes.length - 1, id);
      this.els.flame.scrollIntoView({ block: 'nearest' });
      return id;
    }
    return r.function ? this.zoomToFunction(String(r.function)) : null;
  };

  App.prototype.renderLegend = function () {
    const lg = this.els.legend;
    lg.textContent = '';
    if (this.diff) {
      lg.appendChild(document.createTextNode('colour: change of each frame\'s total'));
      for (const [label, b, a, noise] of [['regressed (hotter)', 1, 2, 0], ['improved (cooler)', 2, 1, 0], ['within noise', 1, 1, 1]]) {
        const sw = lg.appendChild(el('span', 'swatch'));
        sw.style.background = D.color(b, a, noise, '');
        lg.appendChild(document.createTextNode(label));
      }
      lg.appendChild(document.createTextNode(' · the stronger, the larger the change'));
      return;
    }
    if (this.state.colorMode === 'module') {
      lg.textContent = 'colour: one hue per module (hover a frame for its module)';
      return;
    }
    lg.appendChild(document.createTextNode('colour:'));
    for (const kind of M.KIND_NAMES) {
      const sw = lg.appendChild(el('span', 'swatch'));
      sw.style.background = L.frameColor('kind', kind, '', '', false, false);
      lg.appendChild(document.createTextNode(kind));
    }
  };
})(typeof self !== 'undefined' ? (self.nsprof = self.nsprof || {}) : {});
