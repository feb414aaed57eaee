"""Calibration across candidates: how each interviewer rates, how far they agree."""
