/**
 * U-Net workloads of the benchmark (the tfjs side; the PyTorch twin is `UNet` in torch_peer.py): the library's
 * small NCSN++/DDPM++-style U-Net with its defaults (channels 32, channelMult [1, 1, 2], attention at the lowest
 * resolution: ~0.8 M parameters at 28×28×1), VE SDE.
 *   unet_forward — one forward pass (network only, no gradient), as a sampler step calls it;
 *   unet_train   — one Trainer.trainStep: DSM loss, backward, clipping, Adam, EMA.
 */
import * as tf from "@tensorflow/tfjs";
import { createUNet, type ScoreNetwork } from "../../lib/models";
import { createRng } from "../../lib/random";
import { VESDE } from "../../lib/sde";
import { Trainer } from "../../lib/train";

type Params = Record<string, unknown>;
interface Workload {
  run(): Record<string, number | string>;
  dispose(): void;
}

export function unetWorkload(name: string, p: Params): Workload {
  const batch = Number(p.batch);
  const size = Number(p.size);
  // checkpointing: true / false forces the setting (the PyTorch twin then does the same); absent: the default, as
  // users get it ("auto", which does not checkpoint at these batch sizes).
  const gradientCheckpointing = typeof p.checkpointing === "boolean" ? p.checkpointing : "auto";
  const model: ScoreNetwork & { paramCount?: number } = createUNet({ imageSize: size, imageChannels: 1, seed: 0, gradientCheckpointing });
  const params = model.paramCount ?? model.trainableVariables.reduce((n, v) => n + v.size, 0);
  const x0 = tf.keep(createRng(1).uniform([batch, size, size, 1]));
  if (name === "unet_forward") {
    const label = tf.keep(tf.fill([batch], 1.0));
    return {
      run: () => {
        // Read back outside tidy: tf.tidy would walk a returned typed array element by element.
        const y = model.apply(x0, label);
        y.dataSync();
        y.dispose();
        return { params };
      },
      dispose: () => {
        tf.dispose([x0, label]);
        model.dispose();
      },
    };
  }
  const sde = new VESDE({ sigmaMin: 0.01, sigmaMax: 50 });
  const trainer = new Trainer({ model, sde, batchSource: () => x0.clone(), seed: 42 });
  return {
    run: () => {
      const s = trainer.trainStep();
      return { params, loss: s.loss };
    },
    dispose: () => {
      trainer.dispose();
      model.dispose();
      x0.dispose();
    },
  };
}
