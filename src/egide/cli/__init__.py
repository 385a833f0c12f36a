"""The command line: `egide` (Typer). Edges only: parse, call one service, render, exit code."""
