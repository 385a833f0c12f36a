"""One router per resource, each exposing `router`."""
