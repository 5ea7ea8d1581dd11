"""Stock levels, served over HTTP."""
