// main.js — starts the flame-graph page: decodes the data element (docs/FLAME_DATA.md),
// builds the App (ui.js, ui_panels.js), draws the first view and exposes
// window.nsprofPage, the inspection API of docs/FLAME_PAGE.md.
(function (NS) {
  'use strict';
  const M = NS.model;

  function byId(id) {
    return document.getElementById(id);
  }

  function base64Bytes(text) {
    if (typeof Uint8Array.fromBase64 === 'function') return Uint8Array.fromBase64(text);
    const bin = atob(text);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }

  // The data element's text as JSON text: inflated when compressed (the browser's own
  // DecompressionStream: nothing is fetched).
  async function readData() {
    const node = byId('nsprof-data');
    if (!node) throw new Error('the page has no profile data (no #nsprof-data element)');
    const encoding = node.getAttribute('data-encoding');
    const text = node.textContent;
    if (encoding === 'json') return text;
    if (encoding !== 'deflate-base64') throw new Error('unknown data encoding "' + encoding + '"');
    if (typeof DecompressionStream !== 'function')
      throw new Error('this browser cannot inflate the data (no DecompressionStream): open the page in a current Chromium, Firefox or Safari');
    const bytes = base64Bytes(text.replace(/\s+/g, ''));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    return new Response(stream).text();
  }

  function elements() {
    const ids = {
      flame: 'flame', tooltip: 'tooltip', views: 'views', search: 'search', searchShare: 'search-share',
      inverted: 'inverted', colorMode: 'color-mode', resetZoom: 'reset-zoom', clearRange: 'clear-range',
      sandwichBox: 'sandwich-box', sandwichName: 'sandwich-name', sandwichClose: 'sandwich-close',
      timeline: 'timeline', timelineCaption: 'timeline-caption', byFunction: 'by-function', byLine: 'by-line',
      byFunctionNote: 'by-function-note', byLineNote: 'by-line-note', recs: 'recs', recsBox: 'recs-box', legend: 'legend',
      timelineBox: 'timeline-box', colorBox: 'color-box', shapeBox: 'shape-box', beforeShape: 'before-shape',
      vanished: 'vanished', vanishedNote: 'vanished-note', vanishedBox: 'vanished-box', diffSummary: 'diff-summary',
    };
    const els = {};
    for (const k in ids) {
      els[k] = byId(ids[k]);
      if (!els[k]) throw new Error('the page template lacks #' + ids[k]);
    }
    return els;
  }

  // Diff mode's header: both programs, how the sides were made comparable, what the colours
  // say and how noise was judged.
  function showDiffHeader(doc) {
    const d = doc.diff, vi = Math.max(0, doc.views.findIndex((x) => x.name === doc.initialEvent));
    const title = (d.beforeTitle || 'before') + ' → ' + (doc.title || 'after');
    document.title = title + ' — nsprof differential flame graph';
    byId('title').textContent = title;
    const runs = (n) => n + ' run' + (n === 1 ? '' : 's');
    const method = doc.views.length ? d.views[vi].method : '';
    const box = byId('diff-summary');
    box.textContent = 'Differential flame graph: the after profile (' + runs(d.na) + ') against the before profile (' +
      runs(d.nb) + '), normalized ' + d.normalizeText + '. Each frame is drawn in the after profile\'s shape and coloured by the ' +
      'change of its total: red hotter, blue cooler, grey within noise. Frames only the before profile has are listed under ' +
      '"Vanished"; "Draw the before profile\'s shape" shows them.' + (method ? ' Noise (' + doc.views[vi].name + '): ' + method + '.' : '');
    box.hidden = false;
  }

  function showHeader(doc) {
    document.title = (doc.title || 'profile') + ' — nsprof flame graph';
    byId('title').textContent = doc.title || 'profile';
    byId('producer').textContent = doc.producer;
    byId('command').textContent = doc.command;
    byId('command').title = doc.command;
    const notes = byId('notes');
    for (const text of doc.notes) {
      const li = document.createElement('li');
      li.textContent = text;
      notes.appendChild(li);
    }
    notes.hidden = doc.notes.length === 0;
    if (doc.diff) showDiffHeader(doc);
  }

  function reportError(api, msg) {
    api.errors.push(msg);
    const list = byId('errors');
    const li = document.createElement('li');
    li.textContent = msg;
    list.appendChild(li);
    list.hidden = false;
  }

  function requireApp(app) {
    if (!app) throw new Error('the page is not ready: await nsprofPage.ready');
    return app;
  }

  // The inspection API (docs/FLAME_PAGE.md); every call is synchronous once ready.
  function makeApi(getApp) {
    const api = { firstRenderMs: null, timings: null, errors: [] };
    const main = () => requireApp(getApp()).mainPane();
    Object.assign(api, {
      views: () => requireApp(getApp()).doc.views.map((v) => ({ name: v.name, unit: v.unit, total: v.total, samples: v.samples })),
      view: () => requireApp(getApp()).view().name,
      setView: (name) => {
        const app = requireApp(getApp());
        return app.setView(app.doc.views.findIndex((v) => v.name === name));
      },
      root: () => requireApp(getApp()).nodeInfo(main().tree, main().zoom, main()),
      node: (id) => requireApp(getApp()).nodeInfo(main().tree, id, main()),
      find: (name) => M.findNodes(requireApp(getApp()).doc, main().tree, String(name)),
      zoom: (id) => requireApp(getApp()).zoomPane(getApp().panes.length - 1, id),
      reset: () => requireApp(getApp()).zoomPane(getApp().panes.length - 1, 0),
      rect: (id) => requireApp(getApp()).rectOf(getApp().panes.length - 1, id),
      frameAt: (x, y) => {
        const app = requireApp(getApp()), hit = app.hitAt(x, y);
        return hit ? app.nodeInfo(app.panes[hit.pane].tree, hit.id, app.panes[hit.pane]) : null;
      },
      canvas: () => byId('flame'),
      drawnFrames: () => requireApp(getApp()).drawn,
      search: (pattern) => {
        const app = requireApp(getApp());
        app.els.search.value = String(pattern || '');
        return app.setSearch(String(pattern || ''));
      },
      searchResult: () => {
        const s = requireApp(getApp()).state.search;
        return s ? s.result : null;
      },
      setInverted: (on) => {
        const app = requireApp(getApp());
        app.state.inverted = !!on;
        app.state.sandwich = -1;
        app.refresh();
        return true;
      },
      inverted: () => requireApp(getApp()).state.inverted,
      sandwich: (name) => {
        const app = requireApp(getApp());
        const f = name === null || name === undefined ? -1 : M.frameByName(app.doc, String(name));
        if (name !== null && name !== undefined && f < 0) return false;
        app.setSandwich(f);
        return true;
      },
      sandwichOf: () => {
        const app = requireApp(getApp());
        return app.state.sandwich >= 0 ? M.frameName(app.doc, app.state.sandwich) : null;
      },
      setColorMode: (mode) => {
        const app = requireApp(getApp());
        if (mode !== 'kind' && mode !== 'module') return false;
        app.state.colorMode = mode;
        app.renderPanels();
        app.drawFlame();
        return true;
      },
      colorMode: () => requireApp(getApp()).state.colorMode,
      selectRange: (t0, t1) => {
        requireApp(getApp()).setRange({ t0: Number(t0), t1: Number(t1) });
        return getApp().state.range;
      },
      clearRange: () => requireApp(getApp()).setRange(null),
      range: () => requireApp(getApp()).state.range,
      hotspots: (by) => {
        const app = requireApp(getApp());
        const table = by === 'line' || (by === 'vanished' && app.diff) ? by : 'function';
        return app.tableRows(table).map((r) => {
          const out = { name: r.name, module: r.module, file: r.file, line: r.line, self: r.self, total: r.total, calls: r.calls };
          for (const k of ['before', 'after', 'delta', 'deltaPct', 'noise', 'p', 'verdict', 'totalBefore', 'totalAfter',
            'totalDeltaPct', 'totalNoise', 'totalVerdict', 'caller', 'node'])
            if (r[k] !== undefined) out[k] = r[k];
          return out;
        });
      },
      // Diff mode (docs/FLAME_PAGE.md): null for a flame graph of one profile.
      diff: () => {
        const d = requireApp(getApp()).diff;
        return d ? { normalize: d.normalize, runsBefore: d.nb, runsAfter: d.na, fdr: d.fdr, runNoise: d.runNoise } : null;
      },
      shape: () => requireApp(getApp()).state.shape,
      setShape: (shape) => requireApp(getApp()).setShape(String(shape)),
      openVanished: (node) => requireApp(getApp()).openVanished(Number(node)),
      sortHotspots: (by, column, descending) => requireApp(getApp()).sortTable(by, column, descending),
      recommendations: () => requireApp(getApp()).doc.recommendations,
      openFinding: (i) => requireApp(getApp()).openFinding(i),
    });
    return api;
  }

  async function start(api, setApp) {
    const els = elements(), t0 = performance.now();
    const text = await readData();
    const t1 = performance.now();
    const json = JSON.parse(text);
    const t2 = performance.now();
    const doc = M.decodeDocument(json);
    doc.diff = NS.diff.decodeDiff(json, doc);
    const t3 = performance.now();
    showHeader(doc);
    const app = new NS.App(doc, els);
    app.sort = doc.diff ? { function: ['change', true], line: ['change', true], vanished: ['before', true] }
                        : { function: ['self', true], line: ['self', true] };
    const first = doc.views.findIndex((v) => v.name === doc.initialEvent);
    app.state.view = first >= 0 ? first : 0;
    app.bindToolbar();
    setApp(app);
    if (!doc.views.length) {
      byId('status').textContent = 'This profile holds no events: nothing to draw.';
      return;
    }
    app.refresh();
    app.renderRecommendations();
    byId('status').hidden = true;
    api.timings = { startMs: t0, inflateMs: t1 - t0, parseMs: t2 - t1, modelMs: t3 - t2, drawMs: performance.now() - t3 };
  }

  let app = null;
  const api = makeApi(() => app);
  api.ready = start(api, (a) => (app = a)).then(
    () => {
      api.firstRenderMs = performance.now();
    },
    (e) => {
      const msg = 'The page could not show this profile: ' + (e && e.message ? e.message : String(e));
      byId('status').textContent = msg;
      reportError(api, msg);
      throw e;
    });
  window.nsprofPage = api;
})(typeof self !== 'undefined' ? (self.nsprof = self.nsprof || {}) : {});
