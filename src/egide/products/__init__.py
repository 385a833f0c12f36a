"""Versioned product and risk-model files (data, validated on load by egide.domain.product)."""
