"""What differs for a service from one stage to the next: environment and command.

Three places set an environment variable, weakest first: the stage for
every service (`stages.<stage>.env`), the service (`env`, maybe per
platform), and the service at one stage (`per_stage.<stage>.env`). The
command is `per_stage.<stage>.command`, else `python.dev_command` in
development, else the service's `command`.

Input: the validated matrix and one service; output: values per Dockerfile
stage (the stage a matrix stage builds), and located problems.
"""

from __future__ import annotations

from ..model import schema
from ..errors import Diagnostic, Path, did_you_mean
from ..model.resolved import StageValues


def resolve(matrix: schema.Matrix, name: str, spec: schema.Service, stages: tuple[str, ...],
            targets: dict[str, str], runtime: str) -> tuple[dict[str, StageValues], list[Diagnostic]]:
    """StageValues per Dockerfile stage of `spec`'s `stages` (`targets`: stage -> Dockerfile stage)."""
    at: Path = ("services", name, "per_stage")
    errors = []
    for stage, settings in spec.per_stage.items():
        if stage not in matrix.stages:
            errors.append(Diagnostic(f"unknown stage '{stage}'", path=at + (stage,),
                                     hint=did_you_mean(stage, matrix.stages)))
        elif stage not in stages:
            errors.append(Diagnostic(f"'{name}' does not build stage '{stage}'", path=at + (stage,),
                                     hint=f"it builds: {', '.join(stages)}"))
        elif settings.command is not None and runtime == "python" and targets[stage] == "test" \
                and spec.image_of is None:
            errors.append(Diagnostic("the test stage runs `python.test_command` as a build step; it has no command",
                                     path=at + (stage, "command"), hint="set python.test_command instead"))
    out = {}
    for stage in stages:
        settings = spec.per_stage.get(stage) or schema.StageSettings()
        before = {k: v for k, v in matrix.stages[stage].env.items() if k not in spec.env and k not in settings.env}
        command = settings.command
        if command is None and targets[stage] == "development" and spec.python and spec.python.dev_command:
            command = spec.python.dev_command
        if command is None:
            command = spec.command
        out[targets[stage]] = StageValues(before, dict(settings.env), tuple(command) if command else None)
    return out, errors
