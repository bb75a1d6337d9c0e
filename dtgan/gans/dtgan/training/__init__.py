"""DT-GAN training: the GAN data and sampler, objectives, schedules, EMA, the StarGAN v2 loop and checkpoints."""
