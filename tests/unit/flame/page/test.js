// Decodes the data element the way the real page does and prints the document's size.
(async function () {
  const el = document.getElementById('nsprof-data');
  let text = el.textContent;
  if (el.dataset.encoding === 'deflate-base64') {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    text = await new Response(stream).text();
  }
  const doc = JSON.parse(text);
  document.getElementById('out').textContent =
      doc.title + ': ' + doc.events.map((e) => e.name + ' ' + e.nodes.depth.length).join(', ');
})();
