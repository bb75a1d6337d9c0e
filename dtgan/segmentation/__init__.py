"""Beyond the paper (issue 18): DT-GAN's defect masks checked against real masks, and a segmentation downstream."""
