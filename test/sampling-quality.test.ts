/** Sample quality of the PC sampler of the VE configs (reverse diffusion + one Langevin step, snr 0.16); see the harness. */
import { describeReachesNoiseFloor, qualityHarness } from "./sampling-quality-harness";

describeReachesNoiseFloor(qualityHarness(), "reverse_diffusion", "langevin");
