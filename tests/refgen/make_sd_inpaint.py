"""Reference for an inpainting checkpoint's extra U-Net input
(tests/test-sd-pipeline.c, dm_sd_inpaint_condition), from diffusers' own
code: StableDiffusionInpaintPipeline's preparation of the mask and the
masked image's latent.

    python3 tests/refgen/make_sd_inpaint.py DIFFUSERS_SRC [OUT_FILE]

DIFFUSERS_SRC is the src/ folder of a diffusers source tree (imported from
there; tests/refgen/stubs stands in for PIL and the other packages it
imports but these runs never use). OUT_FILE defaults to
tests/data/sd/pipeline/inpaint-condition.safetensors (float32):

  image      (1, 3, H, W) the work image in [-1, 1], uniform
  mask       (1, 1, H, W) a soft mask in [0, 1]: a feathered rectangle
             with noise, so that values fall on both sides of 0.5
  condition  (1, 1 + L, H/8, W/8) what the pipeline concatenates after the
             latents ([latents, mask, masked_image_latents], in __call__):
             the mask as mask_processor binarises it and prepare_mask_latents
             interpolates it (torch's nearest), then the latent of
             image * (mask < 0.5) as _encode_vae_image makes it, in the
             "argmax" mode of retrieve_latents (the posterior's mean: the C
             side uses the mean, not a sample), times scaling_factor
  error.condition  torch's own float32 error on it

The pipeline module itself cannot be imported from the reference tree
without the full transformers version it wants, so the script calls the
pieces it is made of: VaeImageProcessor (diffusers.image_processor) with the
pipeline's two configurations, the interpolate call of prepare_mask_latents,
and AutoencoderKL. The VAE is the tiny one of the C test (four levels of 4
channels, 2 groups, one layer per block, 4 latent channels) with the
random-weight rule of common.py, seed SEED; the reference is a float64 run.
"""

import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import common  # noqa: E402

SEED = 3          # dm_weights_fill_random's seed of the test's VAE
HEIGHT, WIDTH = 48, 64
SCALING = 0.18215
CONFIG = dict(block_out_channels=[4, 4, 4, 4], layers_per_block=1,
              norm_num_groups=2, latent_channels=4, scaling_factor=SCALING)


def make_vae(AutoencoderKL):
    levels = len(CONFIG["block_out_channels"])
    model = AutoencoderKL(down_block_types=["DownEncoderBlock2D"] * levels,
                          up_block_types=["UpDecoderBlock2D"] * levels,
                          **CONFIG)
    state = {name: torch.from_numpy(
                 common.random_tensor(name, tuple(tensor.shape), SEED))
             for name, tensor in model.state_dict().items()}
    model.load_state_dict(state)
    return model.eval()


def inputs():
    rng = np.random.default_rng(SEED)
    image = rng.uniform(-1, 1, (1, 3, HEIGHT, WIDTH)).astype(np.float32)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    outside = np.maximum(np.maximum(20 - x, x - 43), np.maximum(9 - y, y - 33))
    mask = np.clip(1.0 - 0.15 * np.maximum(outside, 0), 0, 1)
    mask = np.clip(mask + rng.uniform(-0.2, 0.2, mask.shape), 0, 1)
    return image, mask[None, None].astype(np.float32)


def condition(VaeImageProcessor, vae, image, mask, dtype):
    """The pipeline's preparation, in `dtype`."""
    image_processor = VaeImageProcessor(vae_scale_factor=8)
    mask_processor = VaeImageProcessor(vae_scale_factor=8,
                                       do_normalize=False, do_binarize=True,
                                       do_convert_grayscale=True)
    pixels = torch.from_numpy(image).to(dtype)
    init_image = image_processor.preprocess((pixels + 1) / 2, height=HEIGHT,
                                            width=WIDTH).to(dtype)
    mask_condition = mask_processor.preprocess(
        torch.from_numpy(mask).to(dtype), height=HEIGHT, width=WIDTH)
    masked_image = init_image * (mask_condition < 0.5)
    latent_mask = torch.nn.functional.interpolate(
        mask_condition, size=(HEIGHT // 8, WIDTH // 8))
    vae = vae.to(dtype)
    with torch.no_grad():
        latents = vae.encode(masked_image).latent_dist.mode() * SCALING
    return torch.cat([latent_mask.to(dtype), latents], dim=1)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    sys.path.insert(0, os.path.join(HERE, "stubs"))
    sys.path.insert(0, sys.argv[1])
    from diffusers.image_processor import VaeImageProcessor
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.utils import logging
    logging.set_verbosity_error()  # vae.to(float64)'s advice on upcasting
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        HERE, "..", "data", "sd", "pipeline", "inpaint-condition.safetensors")
    vae = make_vae(AutoencoderKL)
    image, mask = inputs()
    reference = condition(VaeImageProcessor, vae, image, mask, torch.float64)
    single = condition(VaeImageProcessor, vae, image, mask, torch.float32)
    error = (single.double() - reference).abs().max().item()
    ones = reference[0, 0].sum().item()
    print(f"condition {tuple(reference.shape)}: {ones:.0f} of "
          f"{reference[0, 0].numel()} latent pixels masked, torch f32 error "
          f"{error:.3g}")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    common.write_safetensors(out, {
        "image": image, "mask": mask,
        "condition": reference.float().numpy(),
        "error.condition": np.array([error], dtype=np.float32)},
        {"seed": str(SEED)})


if __name__ == "__main__":
    main()
