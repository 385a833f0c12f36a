"""The insurance rules. Standard library only: a test parses these imports and keeps it so."""
