/**
 * Image-scale workloads of the benchmark (the tfjs side; the PyTorch twins are ImageTrain, ImagePc and
 * ImageLikelihood in torch_peer.py), all on the MNIST training configuration (`params.config`, e.g.
 * data/configs/mnist-vp.json: its SDE, U-Net, loss and optimiser settings) at 28×28×1:
 *   image_train      — one Trainer.trainStep on a fixed batch (images/s = batch / step time);
 *   image_pc         — pcSample of `n` images, reverse-diffusion predictor + Langevin corrector (two U-Net
 *                      evaluations per step), the first `steps` of the N-step grid;
 *   image_likelihood — logLikelihood of `n` images with one Rademacher (Hutchinson) probe, RK45 at 1e-5,
 *                      stopped after `steps` accepted steps (the per-step cost is what is compared).
 * Random-init weights on both sides (timing does not depend on them; the step counts are fixed).
 */
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { imageModelFromConfig, readImageConfig } from "../../lib/data/config";
import { logLikelihood } from "../../lib/likelihood";
import { scoreFnFromModel, type ScoreNetwork } from "../../lib/models";
import { createRng } from "../../lib/random";
import { pcSample } from "../../lib/sampling";
import { Trainer } from "../../lib/train";

type Params = Record<string, unknown>;
interface Workload {
  run(): Record<string, number | string> | Promise<Record<string, number | string>>;
  dispose(): void;
}

/** Thrown from a progress callback to end a sampler or solver run early (quick mode). */
class Stop extends Error {}

export function imageWorkload(name: string, p: Params): Workload {
  const cfg = readImageConfig(path.resolve(__dirname, "..", "..", String(p.config)));
  const size = Number(p.size);
  const { model, sde } = imageModelFromConfig(cfg, { height: size, width: size, channels: 1 });
  const params = model.trainableVariables.reduce((n, v) => n + v.size, 0);
  const n = Number(p.n ?? p.batch);
  // Pixels in [−1, 1] (the config's centred data) or [0, 1].
  const x0 = tf.keep(tf.tidy(() => {
    const u = createRng(1).uniform([n, size, size, 1]);
    return cfg.data.centered ? u.mul(2).sub(1) : u;
  }));
  const dispose = () => {
    x0.dispose();
    model.dispose();
  };
  if (name === "image_train") {
    const t = cfg.training;
    const trainer = new Trainer({
      model, sde, batchSource: () => x0.clone(), seed: t.seed, loss: cfg.loss, emaDecay: t.emaDecay,
      // No warm-up: the measured steps run at the full learning rate (the cost does not depend on it).
      optimizer: { lr: t.lr, warmup: 0, gradClip: t.gradClip },
    });
    return {
      run: () => ({ params, loss: trainer.trainStep().loss }),
      dispose: () => {
        trainer.dispose();
        dispose();
      },
    };
  }
  const score = scoreFnFromModel(sde, model as ScoreNetwork);
  const steps = Number(p.steps);
  let seed = 0;
  if (name === "image_pc") {
    return {
      run: async () => {
        const res = await pcSample({
          sde, score, shape: [n, size, size, 1], predictor: "reverse_diffusion", corrector: "langevin", snr: Number(p.snr), nSteps: 1,
          rng: createRng(seed++),
          callback: steps < sde.N ? ({ i }) => {
            if (i + 1 >= steps) throw new Stop();
          } : undefined,
        }).catch((e: unknown) => {
          if (e instanceof Stop) return undefined;
          throw e;
        });
        res?.samples.dispose();
        return { params, steps };
      },
      dispose,
    };
  }
  if (name === "image_likelihood") {
    return {
      run: async () => {
        let nfe = 0;
        const r = await logLikelihood({
          sde, score, x: x0, divergence: "rademacher", rng: createRng(seed++), rtol: 1e-5, atol: 1e-5, eps: 1e-5,
          onStep: (info) => {
            nfe = info.nfe;
            if (info.nAccepted >= steps) throw new Stop();
          },
        }).catch((e: unknown) => {
          if (e instanceof Stop) return undefined;
          throw e;
        });
        if (r) tf.dispose([r.logp, r.bpd, r.z, r.priorLogp, r.deltaLogp]);
        return { params, steps, nfe: r?.nfe ?? nfe };
      },
      dispose,
    };
  }
  dispose();
  throw new Error(`unknown image workload ${name}`);
}
