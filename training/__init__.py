"""Moviola training code (Python): data generation for the bundled tiny text-to-video model."""
