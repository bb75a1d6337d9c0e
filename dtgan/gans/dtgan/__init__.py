"""DT-GAN (Defect Transfer GAN, BMVC 2022) and its ablation ladder (a) StarGAN v2 ... (e) full model."""
