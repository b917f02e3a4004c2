"""Training: the loop, losses, optimizers and schedules, checkpoints."""
