"""Records -> pandas DataFrames (per layer, per model) and display columns."""
