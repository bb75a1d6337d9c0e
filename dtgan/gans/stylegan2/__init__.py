"""StyleGAN2 and StyleGAN2 + ADA (Karras et al. 2020), a compact CPU-friendly reimplementation.

The baseline of the DT-GAN supplement (Tables 15/18), one class-conditional model per product whose classes are the
(product, defect domain) pairs. Written from the papers and from reading NVlabs/stylegan2-ada-pytorch; no code is
taken from it. Modules: ``config`` (params section ``stylegan2``), ``layers`` / ``generator`` / ``discriminator``
(networks), ``build`` (the one place that reads the config), ``losses``, ``augment`` (ADA), ``train`` and
``synthesize``.
"""
