"""Reference runs of the samplers Stable Diffusion users know, from
diffusers' own schedulers: EulerDiscreteScheduler,
EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler (dpmsolver++,
order 2, Karras sigmas) and LCMScheduler, each in a whole sampling loop as
diffusers' pipelines run it, with a fake network.

Run in the build root (scripts/dev run), from the repository root:

    python3 tests/refgen/make_schedulers.py DIFFUSERS_SRC [CASE...]

DIFFUSERS_SRC is the src/ folder of a diffusers source tree (these files
came from 0.40.0.dev0, commit 58eb52c0803ea9af3abec60841c2a093bdf1f951)
inside the repository tree (e.g. under _build/), as for make_unet.py.
Without CASE names every case is written.

The schedule is Stable Diffusion 1.5's scheduler_config.json (scaled_linear
betas 0.00085 .. 0.012, 1000 timesteps, steps_offset 1, set_alpha_to_one
false) with "leading" timestep spacing, as SD's pipelines run it, with
epsilon prediction (SD 1.x) or v prediction (SD 2.x 768-v); LCM with
LCMScheduler's own settings on top (original_inference_steps 50,
timestep_scaling 10).

The fake network: for element i (flat index in (C, H, W)) of x_t at
training timestep t, with ab = alphas_cumprod[t] (diffusers' float32 table)
and data N(mu_i, s_i^2), mu_i = 0.5 sin(0.37 i + 0.2),
s_i = 0.25 + 0.05 (i mod 11), the exact posterior mean and its epsilon
and v (Tweedie's formula), in double, rounded to float32:
    x0 = mu + sqrt(ab) s^2 (x - sqrt(ab) mu) / (ab s^2 + 1 - ab),
    eps = (x - sqrt(ab) x0) / sqrt(1 - ab),  v = sqrt(ab) eps - sqrt(1 - ab) x0.
tests/test-samplers-sd.c computes the same.

The noise. dm_sample() draws x_T from Philox stream 0 and the noise of
step k from stream 2 k + 2 (sub 0), each element at its absolute pixel
position in the DmSampleGrid (index = sub << 48 | c << 40 | Y << 20 | X,
core/sampling/sampler.c). This script computes the same deviates
(common.normal_at, the C generator's Box-Muller) for the grid below and
gives them to diffusers: x_T as the initial latents (times
init_noise_sigma), and each step's noise by replacing the scheduler
module's randn_tensor for the duration of that step. So the C run and
diffusers' run see the same noise, and the file carries it ("x_T",
"noise") so that the C test also checks its own draws against it.

Each case writes tests/data/sd/schedulers/<case>.safetensors, float32:
    timesteps (n)         what diffusers' loop gave the network
    sigmas    (n + 1)     the scheduler's sigmas (LCM: sqrt((1 - ab) / ab)
                          of its timesteps, in float32, then 0)
    x_T       (C, H, W)   the initial noise
    noise     (n, C, H, W) each step's noise
    inputs    (n, C, H, W) the network's input x_t at each step
                          (scale_model_input's output: the VP view)
    final     (C, H, W)   the sample after the last step
and in the metadata: the sampler's name here, steps, seed, the grid, the
scheduler_config.json text and the scheduler's class. diffusers runs in
float32, as its pipelines do (the Euler schedulers cast the sample to
float32 in step() whatever its dtype); the C test's tolerance allows for
float32 rounding in both runs.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data", "sd", "schedulers")

# runwayml/stable-diffusion-v1-5 scheduler/scheduler_config.json, with
# the spacing SD's pipelines use spelled out.
SD15 = {"beta_end": 0.012, "beta_schedule": "scaled_linear",
        "beta_start": 0.00085, "clip_sample": False,
        "num_train_timesteps": 1000, "set_alpha_to_one": False,
        "skip_prk_steps": True, "steps_offset": 1,
        "timestep_spacing": "leading"}

# The grid: channels, height, width, origin x, origin y (a window away
# from the image's corner, so that absolute positions matter).
GRID = (4, 6, 8, 5, 3)
SEED = 2024

# The options that make DPMSolverMultistepScheduler DPM++ 2M Karras, and
# LCMScheduler's (its defaults, spelled out).
DPMPP_2M_KARRAS = dict(algorithm_type="dpmsolver++", solver_order=2,
                       use_karras_sigmas=True)
LCM = dict(original_inference_steps=50, timestep_scaling=10.0)

# name: (our sampler, diffusers class, extra config, prediction, steps)
CASES = {
    "euler_eps_20": ("euler", "EulerDiscreteScheduler", {}, "epsilon", 20),
    "euler_v_20": ("euler", "EulerDiscreteScheduler", {}, "v_prediction",
                   20),
    "euler_ancestral_eps_20": ("euler-ancestral",
                               "EulerAncestralDiscreteScheduler", {},
                               "epsilon", 20),
    "euler_ancestral_v_15": ("euler-ancestral",
                             "EulerAncestralDiscreteScheduler", {},
                             "v_prediction", 15),
    "dpmpp_2m_karras_eps_20": ("dpmpp-2m-karras",
                               "DPMSolverMultistepScheduler",
                               DPMPP_2M_KARRAS, "epsilon", 20),
    "dpmpp_2m_karras_v_25": ("dpmpp-2m-karras",
                             "DPMSolverMultistepScheduler", DPMPP_2M_KARRAS,
                             "v_prediction", 25),
    "dpmpp_2m_karras_eps_8": ("dpmpp-2m-karras",
                              "DPMSolverMultistepScheduler", DPMPP_2M_KARRAS,
                              "epsilon", 8),
    "lcm_eps_4": ("lcm", "LCMScheduler", LCM, "epsilon", 4),
    "lcm_v_6": ("lcm", "LCMScheduler", LCM, "v_prediction", 6),
}


def import_diffusers(src):
    """diffusers from its source tree, with the stubs for the packages the
    build root lacks."""
    sys.path[:0] = [src, os.path.join(HERE, "stubs"), HERE]


def grid_indices(sub=0):
    """The noise index of every element of GRID, (C, H, W) order."""
    import numpy as np
    channels, height, width, x0, y0 = GRID
    c, y, x = np.meshgrid(np.arange(channels, dtype=np.uint64),
                          np.arange(height, dtype=np.uint64),
                          np.arange(width, dtype=np.uint64), indexing="ij")
    return ((np.uint64(sub) << np.uint64(48)) | (c << np.uint64(40)) |
            ((y + np.uint64(y0)) << np.uint64(20)) | (x + np.uint64(x0)))


def grid_noise(stream):
    """dm_sample()'s deviates of `stream`, sub 0, as (C, H, W)."""
    from common import normal_at
    channels, height, width = GRID[:3]
    return normal_at(grid_indices(), SEED, stream).reshape(
        channels, height, width)


def fake_network(alphas_cumprod, prediction):
    """The network of the docstring: (x (1, C, H, W) float32, t) -> output."""
    import numpy as np
    import torch
    count = GRID[0] * GRID[1] * GRID[2]
    i = np.arange(count, dtype=np.float64)
    mu = 0.5 * np.sin(0.37 * i + 0.2)
    s = 0.25 + 0.05 * (np.arange(count) % 11)

    def network(x, t):
        ab = float(alphas_cumprod[int(t)])
        xt = x.double().numpy().ravel()
        sab, s1 = np.sqrt(ab), np.sqrt(1.0 - ab)
        x0 = mu + sab * s * s * (xt - sab * mu) / (ab * s * s + 1.0 - ab)
        eps = (xt - sab * x0) / s1
        out = eps if prediction == "epsilon" else sab * eps - s1 * x0
        return torch.from_numpy(out.astype(np.float32).reshape(x.shape))
    return network


def scheduler(class_name, extra, prediction):
    """The diffusers scheduler and its module, configured as SD 1.5's."""
    import importlib
    modules = {
        "EulerDiscreteScheduler": "scheduling_euler_discrete",
        "EulerAncestralDiscreteScheduler":
            "scheduling_euler_ancestral_discrete",
        "DPMSolverMultistepScheduler": "scheduling_dpmsolver_multistep",
        "LCMScheduler": "scheduling_lcm",
    }
    module = importlib.import_module("diffusers.schedulers." +
                                     modules[class_name])
    config = dict(SD15, prediction_type=prediction, **extra)
    return getattr(module, class_name).from_config(config), module


def sigmas_of(sched, timesteps):
    """The scheduler's sigmas, or for LCM (which has none) those of its
    timesteps in float32, then 0."""
    import torch
    if hasattr(sched, "sigmas"):
        return sched.sigmas.float().numpy()
    ab = sched.alphas_cumprod[torch.as_tensor(timesteps).long()]
    return torch.cat([((1 - ab) / ab) ** 0.5, torch.zeros(1)]).numpy()


def run(sched, module, network, steps):
    """diffusers' sampling loop with our noise: timesteps, inputs, noise,
    final."""
    import numpy as np
    import torch
    sched.set_timesteps(steps)
    latents = torch.from_numpy(grid_noise(0))[None] * sched.init_noise_sigma
    inputs, noises = [], []
    real_randn = module.randn_tensor
    for k, t in enumerate(sched.timesteps):
        x = sched.scale_model_input(latents, t)
        inputs.append(x[0].numpy().copy())
        output = network(x, t)
        noise = torch.from_numpy(grid_noise(2 * k + 2))[None]
        noises.append(noise[0].numpy())
        module.randn_tensor = lambda *args, **kwargs: noise.clone()
        try:
            latents = sched.step(output, t, latents).prev_sample
        finally:
            module.randn_tensor = real_randn
    timesteps = sched.timesteps.float().numpy()
    return (timesteps, np.stack(inputs), np.stack(noises),
            latents[0].float().numpy())


def make_case(name):
    import numpy as np
    from common import write_safetensors
    sampler, class_name, extra, prediction, steps = CASES[name]
    sched, module = scheduler(class_name, extra, prediction)
    network = fake_network(sched.alphas_cumprod, prediction)
    timesteps, inputs, noises, final = run(sched, module, network, steps)
    sigmas = sigmas_of(sched, timesteps)
    config = dict(SD15, prediction_type=prediction)
    tensors = {"timesteps": timesteps, "sigmas": sigmas,
               "x_T": grid_noise(0), "noise": noises, "inputs": inputs,
               "final": final}
    metadata = {"sampler": sampler, "steps": str(steps), "seed": str(SEED),
                "grid": json.dumps(list(GRID)),
                "scheduler_config": json.dumps(config, sort_keys=True),
                "diffusers_class": class_name,
                "diffusers_config": json.dumps(
                    {k: v for k, v in sched.config.items()
                     if not k.startswith("_")},  # "_use_default_values": a set
                    sort_keys=True, default=str)}
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, name + ".safetensors")
    write_safetensors(path, {k: np.asarray(v, np.float32)
                             for k, v in tensors.items()}, metadata)
    print(f"{path}: {sampler}, {prediction}, {steps} steps, timesteps "
          f"{timesteps[:3].tolist()} ... {timesteps[-1]:.0f}, "
          f"final max|x| {np.abs(final).max():.4f}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    import_diffusers(sys.argv[1])
    for name in sys.argv[2:] or CASES:
        make_case(name)


if __name__ == "__main__":
    main()
