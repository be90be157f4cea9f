/** The seeded generator: determinism, state save/restore, distribution moments, replay of recorded draws. */
import { before, describe, it } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createRng, recordingRng, replayRng } from "../lib";
import { setup } from "./helpers";

before(setup);

const moments = (v: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i];
  m /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2;
  return { mean: m, variance: s / (v.length - 1) };
};

describe("createRng", () => {
  it("the same seed gives the same numbers; another seed others", () => {
    const a = createRng(42).normal([1000]).dataSync();
    const b = createRng(42).normal([1000]).dataSync();
    const c = createRng(43).normal([1000]).dataSync();
    assert.deepEqual(Array.from(a), Array.from(b));
    assert.notDeepEqual(Array.from(a), Array.from(c));
  });

  it("getState/setState resumes the exact sequence (JSON round-trip)", () => {
    const rng = createRng(7);
    rng.uniform([13]);
    const saved = JSON.parse(JSON.stringify(rng.getState()));
    const next = Array.from(rng.normal([5, 3]).dataSync());
    const other = createRng(999);
    other.setState(saved);
    assert.deepEqual(Array.from(other.normal([5, 3]).dataSync()), next);
  });

  it("normal, uniform and rademacher have the right moments (n = 200k, 5-sigma bounds)", () => {
    const rng = createRng(1);
    const n = 200_000;
    const z = moments(rng.normal([n]).dataSync());
    assert.ok(Math.abs(z.mean) < 5 / Math.sqrt(n), `normal mean ${z.mean}`);
    assert.ok(Math.abs(z.variance - 1) < 5 * Math.sqrt(2 / n), `normal variance ${z.variance}`);
    const u = rng.uniform([n]).dataSync();
    const mu = moments(u);
    assert.ok(Math.abs(mu.mean - 0.5) < 5 * Math.sqrt(1 / 12 / n), `uniform mean ${mu.mean}`);
    assert.ok(Math.abs(mu.variance - 1 / 12) < 1e-3, `uniform variance ${mu.variance}`);
    assert.ok(u.every((x) => x >= 0 && x < 1), "uniform in [0, 1)");
    const r = rng.rademacher([n]).dataSync();
    assert.ok(r.every((x) => x === 1 || x === -1));
    assert.ok(Math.abs(moments(r).mean) < 5 / Math.sqrt(n));
  });

  it("normal tails: P(|z| > 3) matches 0.0027 (n = 400k)", () => {
    const z = createRng(5).normalArray(400_000);
    let k = 0;
    for (const v of z) if (Math.abs(v) > 3) k++;
    const p = k / z.length;
    assert.ok(Math.abs(p - 0.0026998) < 5 * Math.sqrt(0.0027 / z.length), `tail frequency ${p}`);
  });

  it("rejects bad seeds, shapes and states with named errors", () => {
    assert.throws(() => createRng(1.5), /seed must be a safe integer, got 1.5/);
    assert.throws(() => createRng(NaN), /seed must be a safe integer, got NaN/);
    assert.throws(() => createRng(1).normal([2, -1]), /shape .*\[2, -1\]/);
    assert.throws(() => createRng(1).uniformArray(-3), /n must be a non-negative integer, got -3/);
    assert.throws(() => createRng(1).setState({ algorithm: "xoshiro128**", s: [0, 0, 0, 0] }), /all-zero/);
  });
});

describe("createRng seeding", () => {
  const stateOf = (seed: number) => createRng(seed).getState().s.join(",");

  it("seeds in [0, 2^32) keep the streams committed results were made with (pinned states)", () => {
    // Recorded before the seeding of seeds outside [0, 2^32) was changed; these must never move.
    const pinned: [number, string][] = [
      [0, "2462723854,1020716019,454327756,1275600319"],
      [1, "2527132011,314344336,2535364964,2041432039"],
      [42, "939911724,3948730756,321366731,3317318717"],
      [668265260, "1017068411,1518103152,1369810846,3203016557"],
      [668265261, "2414060212,2763460210,2347278527,457176030"],
      [2 ** 31, "3172115818,304882621,205969554,3182573129"],
      [2 ** 32 - 1, "920564995,4230986166,697614773,1778835764"],
    ];
    for (const [seed, s] of pinned) assert.equal(stateOf(seed), s, `seed ${seed}`);
    assert.deepEqual(Array.from(createRng(42).uniformArray(2)), [0.6606157208001621, 0.1117019639532224]);
  });

  it("seeds outside [0, 2^32) collide with no other seed (the XOR-mixing collisions of issue #12)", () => {
    assert.notEqual(stateOf(2 ** 32), stateOf(668265261));
    assert.notEqual(stateOf(-1), stateOf(668265260));
    // Each pair shares its low 32 bits; the state must still differ, and no first output may repeat.
    const seeds = [0, 1, 2, 668265260, 668265261, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 33, -1, -2, -(2 ** 32), -(2 ** 32) - 1,
      2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER - 2 ** 32];
    const states = new Map<string, number>();
    const firsts = new Map<number, number>();
    for (const seed of seeds) {
      const s = stateOf(seed);
      assert.ok(!states.has(s), `seeds ${states.get(s)} and ${seed} share the state ${s}`);
      states.set(s, seed);
      const u = createRng(seed).uniformArray(1)[0];
      assert.ok(!firsts.has(u), `seeds ${firsts.get(u)} and ${seed} start with the same number ${u}`);
      firsts.set(u, seed);
    }
  });

  it("high parts hi across [−2^21, 2^21) over one low part give different states (every 97th hi)", () => {
    // The proof in random.ts says the second word determines hi (all 2^22 were checked once, 8 s; a sample here).
    const seen = new Set<number>();
    const lo = 12345;
    const base = createRng(lo).getState().s[1];
    seen.add(base);
    for (let hi = -(2 ** 21); hi < 2 ** 21; hi += 97) {
      if (hi === 0) continue;
      const w = createRng(hi * 2 ** 32 + lo).getState().s[1];
      assert.ok(!seen.has(w), `hi = ${hi}: second word ${w} repeats`);
      seen.add(w);
    }
  });
});

describe("recordingRng / replayRng", () => {
  it("replays a recorded run exactly and checks kind and shape", () => {
    const rec = recordingRng(createRng(3));
    const a = rec.normal([4, 2]).dataSync();
    const b = rec.uniform([3]).dataSync();
    const rep = replayRng(rec.draws);
    assert.deepEqual(Array.from(rep.normal([4, 2]).dataSync()), Array.from(a));
    assert.deepEqual(Array.from(rep.uniform([3]).dataSync()), Array.from(b));
    assert.equal(rep.remaining, 0);
    assert.throws(() => rep.normal([1]), /only 2 recorded/);
    const rep2 = replayRng(rec.draws);
    assert.throws(() => rep2.uniform([8]), /asked for uniform \[8\], recorded normal \[4, 2\]/);
  });

  it("leaves no tensors behind in a loop when callers dispose", () => {
    const rng = createRng(0);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) rng.normal([16, 2]).dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
