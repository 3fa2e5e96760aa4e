"""The parts of scripts/soak.py (`make soak`); see its docstring."""
