"""Use cases: plain values in, plain values out, one transaction each (unit of work)."""
