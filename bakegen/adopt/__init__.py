"""Adoption: start a matrix from what a project already has.

`init` scans a folder for Python and Go projects and Dockerfiles; `import`
reads a compose file or a docker-bake.hcl. Both produce a Draft (the
matrix as data, with comments and the list of what could not be mapped),
which `emit` writes as commented YAML. Nothing here writes outside the
new matrix file, and nothing is dropped silently: every item that has no
place in the matrix becomes a Note with the file and line it came from.
"""
