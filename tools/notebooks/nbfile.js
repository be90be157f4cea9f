// Reading and writing .ipynb files (nbformat 4) the way Jupyter does, so executed notebooks diff cleanly:
// one-space indent, sorted keys, multi-line strings stored as lists of lines, except that arrays of numbers (plotly
// figure data) are written on one line: one number per line made a quarter to a third of the bytes of the plotted
// notebooks (02_score_fields: 6.76 → 5.04 MB). Jupyter reads either; saving from Jupyter spreads them out again.
// Written atomically (lib/io's writeFileAtomic): a run killed while writing leaves the previous notebook, not half of one.
"use strict";
const { io } = require("../ts-lib");

const joinText = (v) => (Array.isArray(v) ? v.join("") : v == null ? "" : String(v));

const CELL_TYPES = ["code", "markdown", "raw"];
const isText = (v) => typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"));

/**
 * Reads and checks a notebook: missing, empty, truncated or invalid JSON, and a structure that is not nbformat 4
 * (cells with a type and a source), are errors naming the file and what to do.
 */
function readNotebook(file) {
  const nb = io().readJsonFile(file, "notebook");
  const bad = (what) => {
    throw new Error(`notebook ${JSON.stringify(file)}: ${what}; restore it with git or repair it in Jupyter`);
  };
  if (!nb || typeof nb !== "object" || Array.isArray(nb)) bad("is not a notebook (the JSON is not an object)");
  if (nb.nbformat !== 4) bad(`nbformat ${JSON.stringify(nb.nbformat)} is not supported (need 4)`);
  if (!Array.isArray(nb.cells)) bad("has no cells array");
  nb.cells.forEach((c, i) => {
    if (!c || typeof c !== "object") bad(`cell ${i + 1} is not an object`);
    if (!CELL_TYPES.includes(c.cell_type)) bad(`cell ${i + 1} has cell_type ${JSON.stringify(c.cell_type)} (allowed: ${CELL_TYPES.join(", ")})`);
    if (!isText(c.source)) bad(`cell ${i + 1} has a source that is not a string or a list of strings`);
    if (c.cell_type === "code" && c.outputs !== undefined && !Array.isArray(c.outputs)) bad(`code cell ${i + 1} has outputs that are not a list`);
  });
  if (nb.metadata !== undefined && (typeof nb.metadata !== "object" || nb.metadata === null)) bad("has metadata that is not an object");
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
  io().writeFileAtomic(file, numberArraysOnOneLine(JSON.stringify(sortKeys(copy), null, 1)) + "\n");
}

// An array of JSON numbers and nulls spread over lines. Only matches that span a line break are collapsed: JSON
// strings hold no raw line breaks, and the element pattern admits no quote, so no match lies in or crosses a string.
const NUMBER_ARRAY = /\[\s*(?:-?\d[\d.eE+-]*|null)(?:\s*,\s*(?:-?\d[\d.eE+-]*|null))*\s*\]/g;
function numberArraysOnOneLine(json) {
  return json.replace(NUMBER_ARRAY, (m) => (m.includes("\n") ? m.replace(/\s+/g, "") : m));
}

const tagsOf = (cell) => ((cell.metadata && cell.metadata.tags) || []).map(String);

module.exports = { readNotebook, writeNotebook, joinText, splitLines, tagsOf, numberArraysOnOneLine };
