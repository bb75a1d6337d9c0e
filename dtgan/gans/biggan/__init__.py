"""BigGAN (Brock et al., ICLR 2019) and BigGAN + DiffAugment (Zhao et al., NeurIPS 2020): the class-conditional,
latent-guided baselines of the DT-GAN supplement (Tables 15 and 18), as a compact own implementation.

A class is one (product, defect domain) pair. DiffAugment is switched by the ``augment`` argument of
:func:`dtgan.gans.biggan.train.train_model` ("none" | "diffaug"), not by a params key; the policy it uses when on is
``biggan.diffaugment_policy``.
"""
