#!/usr/bin/env python3
"""PyTorch twins of the score-sde-ts benchmark workloads (tools/bench/run.js drives this process).

Each workload is the same math at the same sizes as its tfjs side (tools/bench/tfjs_worker.ts), written the
way a PyTorch user would write it, on CPU, float32, with the thread count set explicitly (Debian's torch
defaults to one thread). Where the result depends on the weights (the ODE's number of steps), the weights are
the tfjs model's own, read from the JSON file the tfjs side wrote.

Protocol: one JSON object per line on stdin, one JSON answer per line on stdout.
  {"cmd": "hello", "threads": n}                 -> {"ok": true, "torch": version, "threads": n}
  {"cmd": "setup", "workload": w, "params": {..}} -> {"ok": true, "info": {...}}   (does one warm-up run)
  {"cmd": "run"}                                  -> {"ok": true, "ms": t, "extra": {...}}
  {"cmd": "exit"}
Errors come back as {"ok": false, "error": "..."}; the process keeps serving.
"""
import json
import math
import sys
import time
import traceback

try:
    import torch
    import torch.nn.functional as F
    import torch.utils.checkpoint
except Exception as e:  # noqa: BLE001 - report any import failure as "unavailable"
    print(json.dumps({"ok": False, "error": f"torch unavailable: {e}"}), flush=True)
    sys.exit(3)

try:
    import numpy as np
    from scipy.integrate import solve_ivp
except Exception:  # scipy is only needed by the likelihood twin
    solve_ivp = None


# ----------------------------------------------------------------------------------------------------------
# The toy MLP of lib/models/mlp.ts: Fourier features of log σ (W holds 2π·scale·N(0,1), fixed), concatenated
# with x, `depth` SiLU layers of `width`, a linear output. Weights are loaded by the tfjs logical names.
class ToyMLP(torch.nn.Module):
    def __init__(self, weights):
        super().__init__()
        self.register_buffer("W", torch.tensor(weights["mlp/embed/W"]["data"]).reshape(weights["mlp/embed/W"]["shape"]))
        layers = []
        i = 0
        while f"mlp/dense{i}/kernel" in weights:
            layers.append(self._linear(weights, f"mlp/dense{i}"))
            i += 1
        self.hidden = torch.nn.ModuleList(layers)
        self.out = self._linear(weights, "mlp/out")

    @staticmethod
    def _linear(weights, name):
        k = weights[f"{name}/kernel"]
        b = weights[f"{name}/bias"]
        lin = torch.nn.Linear(k["shape"][0], k["shape"][1])
        with torch.no_grad():
            # tfjs stores [in, out]; torch's Linear holds [out, in].
            lin.weight.copy_(torch.tensor(k["data"]).reshape(k["shape"]).t())
            lin.bias.copy_(torch.tensor(b["data"]))
        return lin

    def forward(self, x, sigma):
        proj = torch.log(sigma)[:, None] * self.W
        h = torch.cat([x, torch.sin(proj), torch.cos(proj)], dim=1)
        for lin in self.hidden:
            h = F.silu(lin(h))
        return self.out(h)


class VESDE:
    def __init__(self, sigma_min, sigma_max, N):
        self.smin, self.smax, self.N = sigma_min, sigma_max, N
        self.log_ratio = math.log(sigma_max / sigma_min)

    def sigma(self, t):
        return self.smin * (self.smax / self.smin) ** t


def score_fn(model, sde):
    # Official VE wrapping with scale-by-sigma (what scoreFnFromModel does by default): label σ(t), out / σ.
    def s(x, t):
        sig = sde.sigma(t)
        return model(x, sig) / sig[:, None]

    return s


def load_weights(path):
    with open(path) as f:
        return json.load(f)


# ----------------------------------------------------------------------------------------------------------
class MatMul:
    def __init__(self, p):
        n = p["n"]
        m, k = p.get("m", n), p.get("k", n)
        g = torch.Generator().manual_seed(0)
        self.a = torch.randn(m, k, generator=g)
        self.b = torch.randn(k, n, generator=g)

    def run(self):
        torch.mm(self.a, self.b)
        return {}


class MlpTrain:
    """One training step as lib/train's Trainer.trainStep: continuous VE DSM loss (σ² weighting, reduce-mean),
    backward, global-norm clipping at 1 (norm read on the host), Adam (torch formula), EMA with warm-up decay."""

    def __init__(self, p):
        self.model = ToyMLP(load_weights(p["weights"]))
        self.sde = VESDE(p["sigmaMin"], p["sigmaMax"], 1000)
        self.score = score_fn(self.model, self.sde)
        self.x0 = torch.randn(p["batch"], 2, generator=torch.Generator().manual_seed(1))
        self.params = [q for q in self.model.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=2e-4)
        self.ema = [q.detach().clone() for q in self.params]
        self.n = 0
        self.steps = int(p.get("stepsPerRun", 1))  # back-to-back steps per timed run, as the tfjs side

    def run(self):
        out = self.step()
        for _ in range(self.steps - 1):
            out = self.step()
        return out

    def step(self):
        eps = 1e-5
        x0 = self.x0
        t = torch.rand(x0.shape[0]) * (1 - eps) + eps
        z = torch.randn_like(x0)
        std = self.sde.sigma(t).reshape(-1, *([1] * (x0.dim() - 1)))
        xt = x0 + std * z
        s = self.score(xt, t)
        loss = ((s * std + z) ** 2).reshape(x0.shape[0], -1).mean(dim=1).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        loss_value, norm_value = loss.item(), norm.item()  # the trainer checks both for finiteness
        self.opt.step()
        self.n += 1
        d = min(0.999, (1 + self.n) / (10 + self.n))
        with torch.no_grad():
            for e, q in zip(self.ema, self.params):
                e.sub_((1 - d) * (e - q))
        return {"loss": loss_value, "norm": norm_value}


class PcSample:
    """pcSample with reverse_diffusion + langevin (snr 0.16, 1 corrector step, corrector first) on VE, N steps,
    denoised output, as lib/sampling/pc.ts."""

    def __init__(self, p):
        self.model = ToyMLP(load_weights(p["weights"]))
        self.sde = VESDE(p["sigmaMin"], p["sigmaMax"], p["N"])
        self.score = score_fn(self.model, self.sde)
        self.n, self.steps, self.snr = p["n"], p["steps"], p["snr"]

    @torch.no_grad()
    def run(self):
        sde, score, B = self.sde, self.score, self.n
        N = sde.N
        step = sde.log_ratio / (N - 1)
        r = math.sqrt(1 - math.exp(-2 * step))
        x = torch.randn(B, 2) * sde.smax
        times = torch.linspace(1.0, 1e-5, N)
        x_mean = x
        for i in range(self.steps):
            t = torch.full((B,), float(times[i]))
            # Langevin corrector (VE: α = 1), batch-averaged norms.
            g = score(x, t)
            z = torch.randn_like(x)
            gn = g.norm(dim=1).mean()
            nn_ = z.norm(dim=1).mean()
            e = 2 * (self.snr * nn_ / gn) ** 2
            x_mean = x + e * g
            x = x_mean + torch.sqrt(2 * e) * z
            # Reverse-diffusion predictor: G = σ_i √(1 − r²) (σ_i at i = floor(t (N−1))), x̄ = x + G² s, x = x̄ + G z.
            k = torch.floor(t * (N - 1))
            sig = torch.exp(k * step + math.log(sde.smin))
            G = torch.where(k == 0, sig, sig * r)[:, None]
            s = score(x, t)
            z = torch.randn_like(x)
            x_mean = x + G * G * s
            x = x_mean + G * z
        return {"steps": self.steps}


class Likelihood:
    """logLikelihood with the exact divergence (2-D): scipy's RK45 (the official solver) on [x, δ] from eps to T,
    drift f̃ = −½ g² s (VE), ∇·f̃ by one backward pass over the D one-hot probe copies of the batch."""

    def __init__(self, p):
        if solve_ivp is None:
            raise RuntimeError("scipy is not installed (apt-get install python3-scipy)")
        self.model = ToyMLP(load_weights(p["weights"]))
        self.sde = VESDE(p["sigmaMin"], p["sigmaMax"], 1000)
        self.score = score_fn(self.model, self.sde)
        self.x = torch.tensor(p["x"], dtype=torch.float32).reshape(-1, 2)
        self.rtol, self.atol, self.eps = p["rtol"], p["atol"], p["eps"]
        B, D = self.x.shape
        self.probes = torch.zeros(D * B, D)
        for d in range(D):
            self.probes[d * B:(d + 1) * B, d] = 1.0

    def ode(self, t, y):
        B, D = self.x.shape
        x = torch.from_numpy(y[: B * D]).float().reshape(B, D)
        xr = x.repeat(D, 1).requires_grad_(True)
        tt = torch.full((D * B,), t, dtype=torch.float32)
        g2 = self.sde.sigma(tt) ** 2 * (2 * self.sde.log_ratio)
        with torch.enable_grad():
            f = -0.5 * g2[:, None] * self.score(xr, tt)
            (grad,) = torch.autograd.grad(f, xr, self.probes)
        div = (grad * self.probes).sum(dim=1).reshape(D, B).sum(dim=0)
        return np.concatenate([f[:B].detach().reshape(-1).double().numpy(), div.detach().double().numpy()])

    def run(self):
        B, D = self.x.shape
        y0 = np.concatenate([self.x.reshape(-1).double().numpy(), np.zeros(B)])
        sol = solve_ivp(self.ode, (self.eps, 1.0), y0, rtol=self.rtol, atol=self.atol, method="RK45")
        z = torch.from_numpy(sol.y[: B * D, -1]).reshape(B, D)
        delta = torch.from_numpy(sol.y[B * D:, -1])
        s2 = self.sde.smax ** 2
        prior = -(z ** 2).sum(dim=1) / (2 * s2) - D / 2 * math.log(2 * math.pi * s2)
        logp = prior + delta
        return {"nfe": int(sol.nfev), "logp_mean": float(logp.mean())}


# ----------------------------------------------------------------------------------------------------------
# The U-Net of lib/models/unet.ts (defaults: nf 32, channelMult [1, 1, 2], 1 res block per level, attention at
# the lowest resolution, GroupNorm groups = largest divisor of C ≤ min(32, C/4), eps 1e-6, SiLU, Fourier
# embedding of log σ of width 2·nf), in NCHW as a PyTorch user would write it. Same layer shapes, so the same
# parameter count (checked by the driver); weights are PyTorch's own init (timing does not depend on them).
def groups_for(c, max_groups=32):
    g = max(1, min(max_groups, c // 4))
    while g > 1:
        if c % g == 0:
            return g
        g -= 1
    return 1


def gn(c):
    return torch.nn.GroupNorm(groups_for(c), c, eps=1e-6)


class ResBlock(torch.nn.Module):
    def __init__(self, cin, cout, temb):
        super().__init__()
        self.gn0, self.conv0 = gn(cin), torch.nn.Conv2d(cin, cout, 3, padding=1)
        self.tproj = torch.nn.Linear(temb, cout)
        self.gn1, self.conv1 = gn(cout), torch.nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = torch.nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv0(F.silu(self.gn0(x)))
        h = h + self.tproj(F.silu(temb))[:, :, None, None]
        h = self.conv1(F.silu(self.gn1(h)))
        s = self.skip(x) if self.skip is not None else x
        return (s + h) * (1 / math.sqrt(2))


class Attn(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = gn(c)
        self.q, self.k, self.v, self.out = (torch.nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        B, C, H, W = x.shape
        h = self.norm(x)
        q, k, v = self.q(h).reshape(B, C, H * W), self.k(h).reshape(B, C, H * W), self.v(h).reshape(B, C, H * W)
        w = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(C), dim=-1)  # [B, HW, HW]
        o = torch.bmm(v, w.transpose(1, 2)).reshape(B, C, H, W)
        return (x + self.out(o)) * (1 / math.sqrt(2))


class UNet(torch.nn.Module):
    """embedding "fourier": features of log σ (VE), width 2·nf; "positional": DDPM sinusoids of the label
    (999·t for VP), width nf — as lib/models/unet.ts."""

    def __init__(self, size, channels=1, nf=32, mult=(1, 1, 2), nres=1, fourier_scale=16, embedding="fourier", checkpoint=False):
        super().__init__()
        self.embedding = embedding
        # Gradient checkpointing of every residual and attention block, as the library's gradientCheckpointing:
        # the backward pass recomputes each block (torch.utils.checkpoint, non-reentrant).
        self.checkpoint = checkpoint
        if embedding == "fourier":
            self.register_buffer("W", torch.randn(nf) * fourier_scale * 2 * math.pi)
            emb = 2 * nf
        else:
            half = nf // 2
            self.register_buffer("W", torch.exp(-torch.arange(half, dtype=torch.float32) * math.log(10000) / (half - 1)))
            emb = nf
        temb = 4 * nf
        self.temb0, self.temb1 = torch.nn.Linear(emb, temb), torch.nn.Linear(temb, temb)
        self.conv_in = torch.nn.Conv2d(channels, nf, 3, padding=1)
        lowest = size // 2 ** (len(mult) - 1)
        self.down = torch.nn.ModuleList()
        self.down_kind = []
        skips = [nf]
        ch, res = nf, size
        for i, m in enumerate(mult):
            for _ in range(nres):
                self.down.append(ResBlock(ch, nf * m, temb))
                ch = nf * m
                if res == lowest:
                    self.down_kind.append(("res", False))
                    self.down.append(Attn(ch))
                    self.down_kind.append(("attn", True))
                else:
                    self.down_kind.append(("res", True))
                skips.append(ch)
            if i != len(mult) - 1:
                self.down.append(torch.nn.Conv2d(ch, ch, 3, padding=1))
                self.down_kind.append(("down", True))
                skips.append(ch)
                res //= 2
        self.mid = torch.nn.ModuleList([ResBlock(ch, ch, temb), Attn(ch), ResBlock(ch, ch, temb)])
        self.up = torch.nn.ModuleList()
        self.up_kind = []
        for i in reversed(range(len(mult))):
            for _ in range(nres + 1):
                cin = ch + skips.pop()
                self.up.append(ResBlock(cin, nf * mult[i], temb))
                self.up_kind.append("res")
                ch = nf * mult[i]
            if res == lowest:
                self.up.append(Attn(ch))
                self.up_kind.append("attn")
            if i != 0:
                self.up.append(torch.nn.Conv2d(ch, ch, 3, padding=1))
                self.up_kind.append("up")
                res *= 2
        assert not skips
        self.norm_out, self.conv_out = gn(ch), torch.nn.Conv2d(ch, channels, 3, padding=1)

    def forward(self, x, label):
        proj = (torch.log(label) if self.embedding == "fourier" else label)[:, None] * self.W
        e = torch.cat([torch.sin(proj), torch.cos(proj)], dim=1)
        if e.shape[1] < self.temb0.in_features:
            e = F.pad(e, (0, 1))
        temb = self.temb1(F.silu(self.temb0(e)))
        h = self.conv_in(x)
        hs = [h]

        def block(mod, *args):
            if self.checkpoint and torch.is_grad_enabled():
                return torch.utils.checkpoint.checkpoint(mod, *args, use_reentrant=False)
            return mod(*args)

        for (kind, keep), mod in zip(self.down_kind, self.down):
            if kind == "res":
                h = block(mod, h, temb)
            elif kind == "attn":
                h = block(mod, h)
            else:
                h = mod(F.avg_pool2d(h, 2))
            if keep:
                hs.append(h)
        h = block(self.mid[2], block(self.mid[1], block(self.mid[0], h, temb)), temb)
        for kind, mod in zip(self.up_kind, self.up):
            if kind == "res":
                h = block(mod, torch.cat([h, hs.pop()], dim=1), temb)
            elif kind == "attn":
                h = block(mod, h)
            else:
                h = mod(F.interpolate(h, scale_factor=2, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


class UNetForward:
    def __init__(self, p):
        torch.manual_seed(0)
        self.model = UNet(p["size"])
        self.x = torch.rand(p["batch"], 1, p["size"], p["size"])
        self.sigma = torch.ones(p["batch"])

    @torch.no_grad()
    def run(self):
        self.model(self.x, self.sigma)
        return {"params": sum(q.numel() for q in self.model.parameters())}


class UNetTrain(MlpTrain):
    """The same step as MlpTrain (VE DSM, clip, Adam, EMA) with the U-Net on a fixed [B, 1, size, size] batch;
    p["checkpointing"] True checkpoints the blocks as the library's row does (its default "auto" does not at b64)."""

    def __init__(self, p):
        torch.manual_seed(0)
        self.model = UNet(p["size"], checkpoint=p.get("checkpointing") is True)
        self.sde = VESDE(0.01, 50, 1000)
        self.score = lambda x, t: self.model(x, self.sde.sigma(t)) / self.sde.sigma(t)[:, None, None, None]
        self.x0 = torch.rand(p["batch"], 1, p["size"], p["size"])
        self.params = [q for q in self.model.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=2e-4)
        self.ema = [q.detach().clone() for q in self.params]
        self.n = 0
        self.steps = 1

    def run(self):
        out = super().run()
        out["params"] = sum(q.numel() for q in self.params)
        return out


# ----------------------------------------------------------------------------------------------------------
# Image-scale twins on the MNIST training configuration (the JSON file the tfjs side reads): its U-Net and VP SDE,
# the official continuous VP score s(x, t) = −model(x, 999 t) / σ(t).
class VPSDE_:
    def __init__(self, beta_min, beta_max, N):
        self.b0, self.b1, self.N = beta_min, beta_max, N
        self.betas = torch.linspace(beta_min / N, beta_max / N, N)
        self.alphas = 1 - self.betas

    def beta(self, t):
        return self.b0 + t * (self.b1 - self.b0)

    def mean_std(self, t):
        lmc = -0.25 * t ** 2 * (self.b1 - self.b0) - 0.5 * t * self.b0
        return torch.exp(lmc), torch.sqrt(1 - torch.exp(2 * lmc))


def image_setup(p):
    with open(p["config"]) as f:
        cfg = json.load(f)
    m, sd = cfg["model"], cfg["sde"]
    if sd["kind"] != "VP":
        raise ValueError(f"the image twins implement the VP SDE only, the config has {sd['kind']}")
    size = p["size"]
    mult = tuple(m.get("channelMult", [1, 1, 2]))
    lowest = size // 2 ** (len(mult) - 1)
    if m.get("attentionResolutions", [lowest]) != [lowest]:
        raise ValueError("the U-Net twin has attention at the lowest resolution only")
    torch.manual_seed(m.get("seed", 0))
    model = UNet(size, 1, nf=m.get("channels", 32), mult=mult, nres=m.get("numResBlocks", 1),
                 embedding=m.get("embedding", "fourier"))
    sde = VPSDE_(sd.get("betaMin", 0.1), sd.get("betaMax", 20), sd.get("N", 1000))

    def score(x, t):
        _, std = sde.mean_std(t)
        return -model(x, 999 * t) / std[:, None, None, None]

    n = p.get("n", p.get("batch"))
    x = torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(1))
    if cfg["data"]["centered"]:
        x = x * 2 - 1
    return cfg, model, sde, score, x


class ImageTrain(MlpTrain):
    """Trainer.trainStep on the configuration: continuous VP DSM (reduce-mean), backward, clipping, Adam, EMA."""

    def __init__(self, p):
        cfg, self.model, self.vp, self.score, self.x0 = image_setup(p)
        t = cfg["training"]
        self.eps, self.clip, self.decay = cfg["loss"].get("eps", 1e-5), t["gradClip"], t["emaDecay"]
        self.params = [q for q in self.model.parameters()]
        self.opt = torch.optim.Adam(self.params, lr=t["lr"])
        self.ema = [q.detach().clone() for q in self.params]
        self.n = 0
        self.steps = 1

    def step(self):
        x0 = self.x0
        t = torch.rand(x0.shape[0]) * (1 - self.eps) + self.eps
        z = torch.randn_like(x0)
        mean, std = self.vp.mean_std(t)
        xt = mean[:, None, None, None] * x0 + std[:, None, None, None] * z
        s = self.score(xt, t)
        loss = ((s * std[:, None, None, None] + z) ** 2).reshape(x0.shape[0], -1).mean(dim=1).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.params, self.clip) if self.clip > 0 else torch.tensor(0.0)
        loss_value, norm_value = loss.item(), norm.item()
        self.opt.step()
        self.n += 1
        d = min(self.decay, (1 + self.n) / (10 + self.n))
        with torch.no_grad():
            for e, q in zip(self.ema, self.params):
                e.sub_((1 - d) * (e - q))
        return {"loss": loss_value, "norm": norm_value,
                "params": sum(q.numel() for q in self.params)}


class ImagePc:
    """pcSample on VP: Langevin corrector (snr, α_i, batch-averaged per-image norms) then the reverse-diffusion
    predictor (f = √(1−β_i) x − x, G = √β_i), official time grid 1 → 1e-3, the first `steps` of N."""

    def __init__(self, p):
        _, self.model, self.vp, self.score, x = image_setup(p)
        self.shape, self.steps, self.snr = x.shape, p["steps"], p["snr"]

    @torch.no_grad()
    def run(self):
        vp, B = self.vp, self.shape[0]
        x = torch.randn(self.shape)
        times = torch.linspace(1.0, 1e-3, vp.N)
        for i in range(self.steps):
            t = torch.full((B,), float(times[i]))
            k = (t * (vp.N - 1)).long()
            g = self.score(x, t)
            z = torch.randn_like(x)
            gn = g.reshape(B, -1).norm(dim=1).mean()
            zn = z.reshape(B, -1).norm(dim=1).mean()
            e = (2 * vp.alphas[k] * (self.snr * zn / gn) ** 2)[:, None, None, None]
            x = x + e * g + torch.sqrt(2 * e) * torch.randn_like(x)
            beta = vp.betas[k][:, None, None, None]
            rev_f = torch.sqrt(1 - beta) * x - x - beta * self.score(x, t)
            x = x - rev_f + torch.sqrt(beta) * torch.randn_like(x)
        return {"steps": self.steps, "params": sum(q.numel() for q in self.model.parameters())}


class ImageLikelihood:
    """logLikelihood on VP with one Rademacher probe: scipy's RK45 (rtol = atol = 1e-5) on [x, δ] from 1e-5,
    drift f̃ = −½β(t)(x + s(x, t)), divergence εᵀ ∂f̃/∂x ε by one backward pass; stopped after `steps` steps."""

    def __init__(self, p):
        if solve_ivp is None:
            raise RuntimeError("scipy is not installed (apt-get install python3-scipy)")
        _, self.model, self.vp, self.score, self.x = image_setup(p)
        self.steps = p["steps"]

    def ode(self, t, y):
        B = self.x.shape[0]
        D = self.x[0].numel()
        x = torch.from_numpy(y[: B * D]).float().reshape(self.x.shape).requires_grad_(True)
        tt = torch.full((B,), t, dtype=torch.float32)
        with torch.enable_grad():
            f = -0.5 * self.vp.beta(tt)[:, None, None, None] * (x + self.score(x, tt))
            (grad,) = torch.autograd.grad(f, x, self.probe)
        div = (grad * self.probe).reshape(B, -1).sum(dim=1)
        return np.concatenate([f.detach().reshape(-1).double().numpy(), div.detach().double().numpy()])

    def run(self):
        from scipy.integrate import RK45
        B = self.x.shape[0]
        self.probe = torch.randint(0, 2, self.x.shape).float() * 2 - 1
        y0 = np.concatenate([self.x.reshape(-1).double().numpy(), np.zeros(B)])
        solver = RK45(self.ode, 1e-5, y0, 1.0, rtol=1e-5, atol=1e-5)
        n = 0
        while solver.status == "running" and n < self.steps:
            solver.step()
            n += 1
        return {"steps": n, "nfe": int(solver.nfev)}


WORKLOADS = {"matmul": MatMul, "mlp_train": MlpTrain, "pc_sample": PcSample, "likelihood": Likelihood,
             "unet_forward": UNetForward, "unet_train": UNetTrain, "image_train": ImageTrain, "image_pc": ImagePc,
             "image_likelihood": ImageLikelihood}


def main():
    current = None
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        try:
            cmd = msg["cmd"]
            if cmd == "hello":
                n = int(msg["threads"])
                torch.set_num_threads(n)
                torch.manual_seed(0)
                out = {"ok": True, "torch": torch.__version__, "threads": torch.get_num_threads()}
            elif cmd == "setup":
                current = None
                kind = WORKLOADS.get(msg["workload"])
                if kind is None:
                    raise ValueError(f"no PyTorch twin for workload {msg['workload']}")
                current = kind(msg["params"])
                if msg["params"].get("warmup", True):
                    # warm-up (allocator, OpenMP pool, first-call dispatch): runs until 1 s has passed, at most
                    # 50 runs, at least one (the same rule as the tfjs worker)
                    t0 = time.perf_counter()
                    for i in range(50):
                        if i > 0 and time.perf_counter() - t0 >= 1.0:
                            break
                        current.run()
                out = {"ok": True, "info": {}}
            elif cmd == "run":
                if current is None:
                    raise RuntimeError("run before setup")
                c0 = time.process_time()  # CPU time of all threads, as process.cpuUsage on the tfjs side
                t0 = time.perf_counter()
                extra = current.run()
                ms = (time.perf_counter() - t0) * 1000
                out = {"ok": True, "ms": ms, "cpu_ms": (time.process_time() - c0) * 1000, "extra": extra}
            elif cmd == "exit":
                return
            else:
                raise ValueError(f"unknown command {cmd}")
        except Exception as e:  # noqa: BLE001 - every failure goes back to the driver
            out = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-2000:]}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
