"""What the baseline generator families share: labelled training images, a seeded resumable batch sampler, the
resumable training loop with its checkpoints, EMA, and the model artefact (state_dicts + config.json)."""
