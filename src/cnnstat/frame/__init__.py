"""Results -> views: pandas DataFrames (per layer, per model) and the tables render shows."""
