"""The data of the compiler: matrix.yaml as read (source), its shape (fields, schema, load),
and what resolving and expanding make of it (resolved, plan). No I/O beyond reading the matrix.
"""
