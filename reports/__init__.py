"""Reports: the command-line interface, the LaTeX report and the figures."""
