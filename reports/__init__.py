"""Reports: the command-line interface, and (later) the LaTeX report and figures."""
