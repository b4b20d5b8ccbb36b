"""The training recipe of Moviola's bundled model: tokenizer, VAE, then text encoder and
transformer jointly with flow matching, exported as a diffusers Wan pipeline folder."""
