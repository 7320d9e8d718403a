"""Judge distillation: train small, fast judges on big-judge or human labels, validate them with
grouped cross-validation next to cheap baselines, save them as artifacts, score with them."""
