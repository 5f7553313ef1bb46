"""High-level interfaces in the conventions users already know: pandas long frames and GluonTS."""
