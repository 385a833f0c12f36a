"""The stochastic model: frequency, severity, policy terms as arrays, year-loss tables."""
