"""Commands and helpers beside the compiler: graph, sizes, buildx checks, image names,
the reference and JSON Schema generators, the pytest plugin.
"""
