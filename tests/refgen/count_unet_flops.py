"""The arithmetic of one SD 1.5- and SD 2-inpainting U-Net evaluation, as
PyTorch counts it, for tests/test-unet-cond.c's check of
dm_unet_cond_flops().

Run in the build root (scripts/dev run), from the repository root:

    python3 tests/refgen/count_unet_flops.py DIFFUSERS_SRC

Builds diffusers' UNet2DConditionModel with make_unet.py's full-size
configs on the meta device (no weights) and counts, with
torch.utils.flop_counter.FlopCounterMode, the FLOPs of one image at a
64x64 latent with 77 text tokens (convolutions, matrix products and
attention; a multiply-add counts 2). Prints one line per network.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    sys.path[:0] = [sys.argv[1], os.path.join(HERE, "stubs"), HERE]
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from diffusers.models.unets.unet_2d_condition import \
        UNet2DConditionModel
    from make_unet import SD15_INPAINT, SD2_INPAINT
    for name, config in (("sd15_inpaint", SD15_INPAINT),
                         ("sd2_inpaint", SD2_INPAINT)):
        with torch.device("meta"):
            model = UNet2DConditionModel(**config)
            sample = torch.zeros(1, 9, 64, 64)
            text = torch.zeros(1, 77, config["cross_attention_dim"])
            with FlopCounterMode(display=False) as counter:
                model(sample, torch.tensor([981.0]), text)
        print(name, counter.get_total_flops())


if __name__ == "__main__":
    main()
