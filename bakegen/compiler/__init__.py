"""From a validated matrix to the plan: resolve (check references, apply defaults),
per_stage, expand (targets, groups, Dockerfiles), destinations (where files go).
"""
