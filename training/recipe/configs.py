"""Named model and training configurations. `smoke` runs in seconds on a CPU (the test suite
uses it); `mini` is the shipped model's shape."""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Config:
    name: str
    # Data.
    short_side: int
    frames: int                       # 4k+1
    fps: int = 16
    # What `moviola generate` writes by default: the model's clips upscaled to this short side and
    # frame-interpolated to this rate (0: as generated).
    output_short_side: int = 0
    output_fps: int = 0
    aspects: tuple = ("16:9", "9:16", "1:1")
    # Tokenizer.
    vocab_size: int = 2000
    tokenizer_captions: int = 20000
    # VAE (AutoencoderKLWan).
    vae: dict = field(default_factory=dict)
    vae_steps: int = 2000
    vae_batch: int = 4
    vae_lr: float = 3e-4
    vae_frames: int = 0               # clip length for VAE training (0: `frames`); the VAE is causal and convolutional
    vae_long_steps: int = 0           # then this many steps on longer clips, so the causal cache carries across chunks
    vae_long_frames: int = 9
    vae_long_lr: float = 5e-4
    vae_object_weights: bool = False  # reconstruction loss weighted 1 + object_loss_weight on object pixels
    # First, (steps, frames) phases on object-centred crops (`vae_crop_size` px, `vae_crop_batch` a
    # step): small objects are what an autoencoder learns last, and on whole frames, mostly
    # background, a CPU run never got there (objects decoded grey).
    vae_crop_phases: tuple = ()
    vae_crop_size: int = 32
    vae_crop_batch: int = 32
    vae_decoder_steps: int = 0        # then the decoder alone on full-length clips (the encoder, and so the latents, unchanged)
    vae_decoder_batch: int = 2
    vae_decoder_lr: float = 3e-4
    latent_cache_clips: int = 0       # transformer stage: encode this many clips once and cycle through them (0: fresh clips every step)
    # Text encoder (UMT5EncoderModel) and transformer (WanTransformer3DModel).
    text_encoder: dict = field(default_factory=dict)
    transformer: dict = field(default_factory=dict)
    dit_steps: int = 20000
    dit_batch: int = 8
    dit_lr: float = 2e-4
    dit_decay_steps: int = 0          # the last this many transformer steps lower the rate linearly to zero
    max_sequence_length: int = 512
    flow_shift: float = 3.0
    caption_dropout: float = 0.1      # empty caption, so classifier-free guidance has an unconditional model
    first_frame_probability: float = 0.3  # Wan 2.2 TI2V-style first-frame conditioning
    object_loss_weight: float = 0.0   # extra flow-matching loss weight on latent cells covered by objects
    first_frame_loss_weight: float = 1.0  # flow-matching loss weight of latent frame 0 (the first video frame, encoded alone)
    first_frame_balance: float = 0.0  # >0: frame 0's channels weighted by later/frame-0 variance, capped at this
    latent_statistics_clips: int = 64
    # Text encoder pretraining (`--stage text`): attribute heads on the pooled encoder output.
    text_steps: int = 0
    text_batch: int = 64
    text_lr: float = 1e-3
    text_aux_weight: float = 0.0      # transformer stage: that loss, weighted, added to the flow-matching loss
    head_fit_steps: int = 300         # transformer stage on an encoder with no heads (an import): fit them, encoder frozen


CONFIGS = {
    "smoke": Config(
        name="smoke", short_side=32, frames=5, vocab_size=300, tokenizer_captions=600,
        vae=dict(base_dim=4, z_dim=4, dim_mult=[1, 2, 4, 4], num_res_blocks=1, temperal_downsample=[False, True, True]),
        vae_steps=3, vae_batch=2, vae_long_steps=2, vae_long_frames=9, vae_decoder_steps=2,
        vae_crop_phases=((2, 1), (1, 5)), vae_crop_size=16, vae_crop_batch=4,
        text_encoder=dict(d_model=16, d_kv=8, num_heads=2, d_ff=32, num_layers=1),
        transformer=dict(num_attention_heads=2, attention_head_dim=12, num_layers=1, ffn_dim=32, freq_dim=16),
        dit_steps=3, dit_batch=2, latent_statistics_clips=4, max_sequence_length=32, object_loss_weight=4.0,
        text_steps=2, text_batch=32, text_lr=3e-3, text_aux_weight=0.1, head_fit_steps=20),
    # Small enough to train on a 2-core CPU in about an hour: 64-px clips of 9 frames.
    "cpu-preview": Config(
        name="cpu-preview", short_side=64, frames=9, vocab_size=1500, tokenizer_captions=8000,
        vae=dict(base_dim=16, z_dim=8, dim_mult=[1, 2, 4, 4], num_res_blocks=1, temperal_downsample=[False, True, True]),
        vae_steps=800, vae_batch=4, vae_lr=5e-4,
        text_encoder=dict(d_model=128, d_kv=32, num_heads=4, d_ff=384, num_layers=2),
        transformer=dict(num_attention_heads=4, attention_head_dim=64, num_layers=6, ffn_dim=768, freq_dim=128),
        dit_steps=3000, dit_batch=8, dit_lr=3e-4, latent_statistics_clips=32),
    # The configuration trained and shipped on the 2-core CPU when no GPU is at hand: 64-px clips of
    # 41 frames at 8 fps (5 s), a VAE compressing 4x in space and time, 4x4 transformer patches (308
    # tokens per clip), written out upscaled to 512 px (so the invisible watermark survives a 0.5x downscale)
    # and interpolated to 16 fps.
    "cpu": Config(
        name="cpu", short_side=64, frames=41, fps=8, output_short_side=512, output_fps=16,
        vocab_size=1500, tokenizer_captions=8000,
        vae=dict(base_dim=16, z_dim=16, dim_mult=[1, 2, 4], num_res_blocks=1, temperal_downsample=[True, True]),
        # Object-centred crops first (fast, and objects are most of what they show), then whole
        # 5-frame clips, 9-frame clips, and the decoder alone on full-length ones.
        vae_crop_phases=((3000, 1), (600, 5)), vae_crop_size=32, vae_crop_batch=32, vae_object_weights=True,
        vae_steps=200, vae_batch=4, vae_lr=1e-3, vae_frames=5, vae_long_steps=150, vae_long_frames=9, vae_decoder_steps=300,
        text_encoder=dict(d_model=128, d_kv=32, num_heads=4, d_ff=384, num_layers=2),
        transformer=dict(patch_size=(1, 4, 4), num_attention_heads=4, attention_head_dim=64, num_layers=6, ffn_dim=768,
                         freq_dim=128),
        dit_steps=6000, dit_batch=8, dit_lr=4e-4, latent_statistics_clips=16, latent_cache_clips=768,
        # Captions are at most ~60 pieces. Padded to Wan's 512, the real tokens drew ~5 % of the
        # cross-attention, and after 7 800 steps the transformer still ignored the text.
        max_sequence_length=64, object_loss_weight=4.0,
        # The encoder learns to state a caption's attributes first (--stage text), and keeps doing so
        # while the transformer trains: see train.AttributeHeads.
        text_steps=2000, text_aux_weight=0.1),
    "mini": Config(
        name="mini", short_side=128, frames=17, vae_long_steps=500, vae_long_frames=17,
        vae=dict(base_dim=32, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=1, temperal_downsample=[False, True, True]),
        text_encoder=dict(d_model=256, d_kv=32, num_heads=8, d_ff=768, num_layers=4),
        transformer=dict(num_attention_heads=6, attention_head_dim=64, num_layers=8, ffn_dim=1536, freq_dim=256)),
}


def size_for(aspect: str, short_side: int, multiple: int = 16) -> tuple:
    """(width, height) for an aspect ratio with the given short side, long side rounded to `multiple`."""
    long_side = max(multiple, round(short_side * 16 / 9 / multiple) * multiple)
    return {"16:9": (long_side, short_side), "9:16": (short_side, long_side), "1:1": (short_side, short_side)}[aspect]
