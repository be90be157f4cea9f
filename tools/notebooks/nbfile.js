// Reading and writing .ipynb files (nbformat 4) the way Jupyter does, so executed notebooks diff cleanly:
// one-space indent, sorted keys, multi-line strings stored as lists of lines.
"use strict";
const fs = require("node:fs");

const joinText = (v) => (Array.isArray(v) ? v.join("") : v == null ? "" : String(v));

function readNotebook(file) {
  const nb = JSON.parse(fs.readFileSync(file, "utf8"));
  if (nb.nbformat !== 4) throw new Error(`${file}: nbformat ${nb.nbformat} is not supported (need 4)`);
  return nb;
}

/** Lines with their "\n" kept, as nbformat stores multi-line strings. */
function splitLines(s) {
  const out = s.match(/[^\n]*\n|[^\n]+$/g);
  return out || [];
}

const isJsonMime = (k) => k === "application/json" || (k.startsWith("application/") && k.endsWith("+json"));
const isTextMime = (k) => k.startsWith("text/") || k === "image/svg+xml";

function normalizeOutput(o) {
  const out = { ...o };
  if (out.output_type === "stream") out.text = splitLines(joinText(out.text));
  if (out.data) {
    const data = {};
    for (const [k, v] of Object.entries(out.data)) {
      data[k] = !isJsonMime(k) && isTextMime(k) && typeof v === "string" ? splitLines(v) : v;
    }
    out.data = data;
  }
  return out;
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]);
    return o;
  }
  return v;
}

function writeNotebook(file, nb) {
  const copy = { ...nb, cells: nb.cells.map((c) => {
    const cell = { ...c, source: splitLines(joinText(c.source)) };
    if (cell.cell_type === "code") cell.outputs = (cell.outputs || []).map(normalizeOutput);
    return cell;
  }) };
  fs.writeFileSync(file, JSON.stringify(sortKeys(copy), null, 1) + "\n");
}

const tagsOf = (cell) => ((cell.metadata && cell.metadata.tags) || []).map(String);

module.exports = { readNotebook, writeNotebook, joinText, splitLines, tagsOf };
