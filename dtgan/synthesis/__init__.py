"""Synthesis of defective images from normal ones with a trained DT-GAN, and classifier data sets."""
