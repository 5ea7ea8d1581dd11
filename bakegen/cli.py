"""Command line: parse arguments, call one function, map the result to an exit code.

Exit codes: 0 success (or output current), 1 generated files are stale
(`check`), 2 invalid input or usage, 3 a bug in bakegen.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from . import __version__
from .errors import BakegenError, format_diagnostics

EXIT_STALE = 1
EXIT_INVALID = 2
EXIT_BUG = 3

F = TypeVar("F", bound=Callable[..., Any])


def matrix_option(func: F) -> F:
    return click.option(
        "-f", "--file", "matrix_file", default="matrix.yaml", show_default=True,
        type=click.Path(dir_okay=True, path_type=str),
        help="The matrix file. Generated files go next to it.",
    )(func)


def handle_errors(func: F) -> F:
    """Print user errors as located messages (exit 2); bugs get a traceback (exit 3)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BakegenError as exc:
            click.echo(format_diagnostics(exc.diagnostics), err=True)
            sys.exit(EXIT_INVALID)
        except (click.exceptions.Exit, click.ClickException, KeyboardInterrupt):
            raise
        except Exception:
            click.echo(traceback.format_exc(), err=True)
            click.echo(f"bakegen {__version__}: internal error; this is a bug, please report it "
                       "with the output above.", err=True)
            sys.exit(EXIT_BUG)

    return wrapper  # type: ignore[return-value]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _warn(warnings: tuple[str, ...]) -> None:
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bakegen")
def cli() -> None:
    """Compile matrix.yaml into Dockerfiles and docker-bake.hcl.

    Typical use: `bakegen render && docker buildx bake`. In CI, `bakegen check`
    fails when the committed generated files are not current.
    """


@cli.command()
@matrix_option
@handle_errors
def render(matrix_file: str) -> None:
    """Write the generated Dockerfiles and docker-bake.hcl.

    Only files whose content changed are rewritten, each atomically.
    """
    from .commands import render_files

    _warn(render_files(matrix_file))


@cli.command()
@matrix_option
@handle_errors
def check(matrix_file: str) -> None:
    """Exit 1, with a diff, if any generated file is missing, stale or hand-edited.

    Exit 0 when every generated file is current; nothing is written.
    """
    from .commands import check_files

    warnings, stale = check_files(matrix_file)
    _warn(warnings)
    if stale:
        for status in stale:
            click.echo(status.diff(), nl=False)
        click.echo(f"{len(stale)} generated file(s) are not current; run `bakegen render`.", err=True)
        sys.exit(EXIT_STALE)
    click.echo("generated files are current")


@cli.command()
@matrix_option
@handle_errors
def validate(matrix_file: str) -> None:
    """Check the matrix file for errors without writing anything."""
    from .pipeline import build_plan

    plan = build_plan(matrix_file)
    _warn(plan.warnings)
    services = len({t.service for t in plan.targets})
    click.echo(f"{matrix_file} is valid: {_count(services, 'service')}, {_count(len(plan.targets), 'target')}")


@cli.command(name="list")
@matrix_option
@handle_errors
def list_targets(matrix_file: str) -> None:
    """Show every bake target: service, stage, platforms and tags."""
    from .commands import target_table
    from .pipeline import build_plan

    click.echo(target_table(build_plan(matrix_file)))


def main() -> None:
    cli(prog_name="bakegen")
