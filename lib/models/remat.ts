/**
 * Gradient checkpointing (rematerialisation) for tfjs.
 *
 * tfjs keeps every intermediate of a differentiated computation, and every intermediate's gradient, until the
 * whole backward pass ends: a 28×28 U-Net backward peaked at ~38 MB per example on wasm, so batch 128 ran out of
 * the 4 GB wasm heap. `remat(f, inputs, params)` runs f without recording it (only its inputs are saved); the
 * backward pass recomputes f and differentiates it locally, freeing that block's intermediates and gradients
 * before moving on. Cost: one extra forward of each wrapped block.
 *
 * f must be deterministic in its inputs (draw dropout masks outside and pass them in) and may read `params`
 * (tf.Variables) directly: gradients w.r.t. them are routed to the outer tape through the customGrad inputs.
 *
 * Internals: tfjs' engine resets `state.activeTape` when a gradient computation starts or ends at depth 0, and
 * the outer backward pass still needs it afterwards; the outer tape is restored after the local gradient (tested
 * against the un-checkpointed gradients, tfjs 4.22).
 */
import * as tf from "@tensorflow/tfjs";

interface EngineWithTape {
  state: { activeTape: unknown };
}

export function remat(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: readonly tf.Tensor[], params: readonly tf.Variable[]): tf.Tensor {
  const n = inputs.length;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xs = args.slice(0, n) as tf.Tensor[];
    save(xs);
    return {
      value: f(...xs),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const engine = tf.engine() as unknown as EngineWithTape;
        const outerTape = engine.state.activeTape;
        try {
          return tf.tidy(() => tf.grads((...a: tf.Tensor[]) => f(...a.slice(0, n)))([...saved, ...params], dy));
        } finally {
          engine.state.activeTape = outerTape;
        }
      },
    };
  });
  return op(...inputs, ...params);
}
