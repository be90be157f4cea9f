/** The committed copy of the official vectors equals ../shared/reference when that folder is present. */
import { it } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "./helpers";

it("test/fixtures/official_vectors.json is the shared reference", (t) => {
  const shared = path.join(ROOT, "..", "shared", "reference", "official_vectors.json");
  if (!fs.existsSync(shared)) {
    t.skip("../shared/reference not present");
    return;
  }
  const copy = fs.readFileSync(path.join(ROOT, "test", "fixtures", "official_vectors.json"), "utf8");
  assert.equal(copy, fs.readFileSync(shared, "utf8"));
});
