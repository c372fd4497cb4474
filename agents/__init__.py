"""Algorithms built from rlbasics: REINFORCE, supervised MLE baselines, the contrast."""
