"""init and import on folders and files nobody would write on purpose.

No hang, no unbounded read, no traceback, no copy of a project found twice
through a link, and a matrix that reads back whatever the folder names hold.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import bakegen.files.read
from bakegen.model.source import load


def run_process(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in its own process, for inputs that might hang it."""
    return subprocess.run([sys.executable, "-m", "bakegen", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30)


def go_program(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "go.mod").write_text("module example.com/svc\n\ngo 1.24\n")
    (folder / "main.go").write_text("package main\n\nfunc main() {}\n")


# -- init ----------------------------------------------------------------------


def test_init_follows_no_link_to_a_folder(tmp_path, run):
    go_program(tmp_path / "svc")
    (tmp_path / "again").symlink_to(".")
    (tmp_path / "svc/again").symlink_to("..")
    (tmp_path / "machine").symlink_to("/")
    result = run("init", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("wrote ")
    assert "1 service(s)" in result.stdout.splitlines()[0]
    assert "  again: a symbolic link to a folder; not followed (a build context does not follow it either)\n" \
        in result.stdout
    assert "  machine: a symbolic link to a folder; not followed" in result.stdout


def test_init_reads_only_regular_go_files_and_never_waits(tmp_path):
    go_program(tmp_path / "svc")
    os.mkfifo(tmp_path / "svc/pipe.go")  # reading it would wait for a writer forever
    (tmp_path / "svc/zero.go").symlink_to("/dev/zero")  # never ends
    (tmp_path / "svc/tool.go").mkdir()  # a folder named like a Go file
    result = run_process("init", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "runtime: go" in (tmp_path / "matrix.yaml").read_text()


def test_init_skips_files_and_folders_it_may_not_read(tmp_path, run, monkeypatch):
    go_program(tmp_path / "svc")
    go_program(tmp_path / "locked")
    (tmp_path / "private").mkdir()
    real_open, real_stat = bakegen.files.read.os.open, bakegen.files.read.os.stat

    # Tests may run as root, who reads anything: refuse as the OS would for mode 000.
    def denied_open(path, *args, **kwargs):
        if Path(path).parent.name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    def denied_stat(path, *args, **kwargs):
        if Path(path).parent.name == "private":
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(bakegen.files.read.os, "open", denied_open)
    monkeypatch.setattr(bakegen.files.read.os, "stat", denied_stat)
    (tmp_path / "private/go.mod").write_text("module x\n")
    result = run("init", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert "  locked/go.mod: cannot be read (permissions), or larger than 4 MiB; not scanned\n" in result.stdout
    assert "1 service(s)" in result.stdout.splitlines()[0]


def test_a_folder_name_with_a_line_break_gives_a_matrix_that_reads_back(tmp_path, run):
    odd = tmp_path / "we\nird"
    odd.mkdir()
    (odd / "Dockerfile").write_text("FROM scratch AS production\nUSER 10001\n")
    result = run("init", str(tmp_path))
    assert result.exit_code == 1
    load(tmp_path / "matrix.yaml")  # no YAML syntax error
    assert f"{tmp_path / 'matrix.yaml'}:" in result.stdout
    assert "context: 'we\\nird' has characters bakegen does not allow in paths: '\\n'" in result.stdout


def test_a_go_mod_replacement_by_an_absolute_folder_is_noted(tmp_path, run):
    go_program(tmp_path)
    with (tmp_path / "go.mod").open("a") as f:
        f.write("replace example.com/shared => /etc\n")
    result = run("init", str(tmp_path))
    assert "go.mod replaces example.com/shared with " in result.stdout
    assert "outside this folder: list it in project.allow_outside and `contexts` by hand" in result.stdout


# -- import: values as bake reads them -----------------------------------------


def bake_project(folder: Path, text: str | bytes) -> None:
    (folder / "app").mkdir()
    (folder / "app/Dockerfile").write_text("FROM scratch AS runtime\nUSER 10001\n")
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    (folder / "docker-bake.hcl").write_bytes(data)


BAKE_VALUES = '''variable "TAG" { default = "1.0" }
target "app" {
  context = "app"
  target = "runtime"
  args = {
    COMPUTED = upper("x")
    PERCENT = "lit%%{x}"
    DOLLAR = "$${HOME}"
    PLAIN = "ok"
    HEREDOC = <<EOT
say "hi" \\n
  as written
EOT
    INDENTED = <<-EOT
      one
        two
    EOT
  }
  labels = {
    "version.${TAG}" = "v"
  }
  tags = ["reg.io/app:${TAG}", upper("computed")]
}
'''


def test_a_bake_file_imports_every_value_bake_reads_and_names_only_the_computed_ones(tmp_path, run):
    bake_project(tmp_path, b"\xef\xbb\xbf" + BAKE_VALUES.encode())  # buildx reads a byte order mark too
    result = run("import", "docker-bake.hcl", "-o", "matrix.yaml", cwd=tmp_path)
    assert result.exit_code == 1, result.stderr  # 1: move docker-bake.hcl away first
    data = load(tmp_path / "matrix.yaml").data
    service = data["services"]["app"]
    assert service["args"] == {"PERCENT": "lit%{x}", "DOLLAR": "${HOME}", "PLAIN": "ok",
                               "HEREDOC": 'say "hi" \\n\n  as written\n', "INDENTED": "one\n  two\n"}
    assert service["labels"] == {"version.1.0": "v"}
    assert (data["project"]["registry"], data["stages"]["production"]["tags"]) == ("reg.io", ["{registry}/{service}:{tag}"])
    assert "  docker-bake.hcl:6:5: target app: args.COMPUTED = ${upper(\"x\")} is computed; not imported\n" \
        in result.stdout
    assert "  docker-bake.hcl:22:3: target app: tags[1] = ${upper(\"computed\")} is computed; not imported\n" \
        in result.stdout


def test_a_bake_file_that_is_not_utf8_is_located(tmp_path, run):
    bake_project(tmp_path, b'target "app" {\n  context = "caf\xe9"\n}\n')
    result = run("import", "docker-bake.hcl", "-o", "matrix.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == ("docker-bake.hcl:2:17: the file is not valid UTF-8 (byte 0xe9)\n"
                             "  hint: save docker-bake.hcl as UTF-8\n")
    assert not (tmp_path / "matrix.yaml").exists()


def test_a_bake_file_nested_deep_is_refused_before_it_is_parsed(tmp_path):
    (tmp_path / "docker-bake.json").write_text('{"target": {"a": {"args": ' + "[" * 100_000 + "]" * 100_000 + "}}}")
    (tmp_path / "docker-bake.hcl").write_text('target "a" {\n  args = ' + "[" * 100_000 + "]" * 100_000 + "\n}\n")
    for name, where in (("docker-bake.json", "1:124"), ("docker-bake.hcl", "2:109")):
        result = run_process("import", name, "-o", "matrix.yaml", cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr == (f"{name}:{where}: values are nested more than 100 deep here\n"
                                 "  hint: a bake file is a few levels deep; this looks like a broken or hostile file\n")


def test_a_bake_file_larger_than_any_real_one_is_refused_before_it_is_parsed(tmp_path, run):
    targets = "".join(f'target "t{i}" {{\n  context = "app"\n  tags = ["reg.io/t{i}:1"]\n}}\n' for i in range(6000))
    bake_project(tmp_path, targets)
    result = run("import", "docker-bake.hcl", "-o", "matrix.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"docker-bake.hcl: the file is {len(targets):,} bytes; bakegen reads bake files of at most 262,144 (256 KiB)\n"
        "  hint: a bake file is far smaller; check that this is the right file\n")


# -- import: values as compose reads them ---------------------------------------


def compose_project(folder: Path, build: str, service: str = "") -> Path:
    (folder / "Dockerfile").write_text("FROM scratch AS production\nUSER 10001\n")
    (folder / "compose.yaml").write_text(f"services:\n  api:\n    build:\n      context: .\n{build}{service}")
    return folder / "compose.yaml"


def test_compose_values_are_read_as_compose_reads_them(tmp_path, run):
    compose_project(tmp_path, "      args:\n        NESTED: ${A:-${B:-deep}}\n        DOLLARS: \"a$$b\"\n"
                              "        BOTH: \"$${X}-${Y:-y}\"\n",
                    "    ports: [\"abc\", \"8000:8000\"]\n")
    result = run("import", "compose.yaml", cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    service = load(tmp_path / "matrix.yaml").data["services"]["api"]
    assert service["args"] == {"NESTED": "deep", "DOLLARS": "a$b", "BOTH": "${X}-y"}
    assert "  compose.yaml:9:5: ports: 'abc' names no container port (compose refuses it); not imported\n" \
        in result.stdout


def test_compose_values_of_the_wrong_shape_are_located_not_mangled(tmp_path, run):
    for build, message in [
        ('      tags: "reg.io/x:1"\n', "compose.yaml:5:7: build.tags: expected a list of tags, not a string\n"
                                      '  hint: compose refuses it too; write it as a list, e.g. ["reg.io/x:1"]\n'),
        ("      args: {A: [1, 2]}\n", "compose.yaml:5:14: build.args.A: expected a string, number or boolean, "
                                     "not a list\n  hint: compose refuses it too; write the value as a string\n"),
        ("      args: {A: !!float abc}\n", "compose.yaml:5:17: 'abc' is not a valid !!float\n"
                                          "  hint: remove the tag !!float, or write a value it reads\n"),
    ]:
        compose_project(tmp_path, build)
        result = run("import", "compose.yaml", cwd=tmp_path)
        assert (result.exit_code, result.stderr) == (2, message)
        assert not (tmp_path / "matrix.yaml").exists()


def test_compose_file_messages_name_the_compose_file(tmp_path, run):
    (tmp_path / "compose.yaml").write_bytes(b"services:\n  api: {build: caf\xe9}\n")
    result = run("import", "compose.yaml", cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (2, "compose.yaml:2:19: the file is not valid UTF-8 (byte 0xe9)\n"
                                                    "  hint: save compose.yaml as UTF-8\n")
    (tmp_path / "compose.yaml").write_text("services:\n  api: {build: .}\n" + "#" * (9 * 1024 * 1024) + "\n")
    result = run("import", "compose.yaml", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == (
        "compose.yaml: the file is 9,437,213 bytes; bakegen reads compose files of at most 8,388,608 (8 MiB)\n"
        "  hint: a compose file is far smaller: check that this is the right file\n")


# -- import and init: what they read from and write to --------------------------


def test_import_names_what_is_not_a_file_to_import(tmp_path, run):
    os.mkfifo(tmp_path / "compose.yaml")
    for source, problem in (("/dev/null", "not a regular file (a pipe, socket or device)"),
                            ("compose.yaml", "not a regular file (a pipe, socket or device)"),
                            ("missing.yaml", "file not found")):
        result = run("import", source, cwd=tmp_path)
        assert (result.exit_code, result.stderr) == (
            2, f"{source}: {problem}\n  hint: pass a docker-compose.yml or a docker-bake.hcl\n")


def test_a_pipe_as_a_compose_services_dockerfile_does_not_hang_import(tmp_path):
    compose_project(tmp_path, "      dockerfile: Dockerfile.pipe\n")
    os.mkfifo(tmp_path / "Dockerfile.pipe")
    result = run_process("import", "compose.yaml", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "  Dockerfile.pipe (service 'api', compose.yaml:2) is missing or BuildKit cannot parse it\n" in result.stdout


def test_a_matrix_into_a_folder_that_does_not_exist_yet_finds_the_dockerfiles(tmp_path, run):
    compose_project(tmp_path, "")
    result = run("import", "compose.yaml", "-o", "new/matrix.yaml", cwd=tmp_path)
    assert "is missing" not in result.stdout
    assert "new/matrix.yaml:" in result.stdout and "'../Dockerfile' is outside the project folder" in result.stdout


def test_init_and_import_into_a_path_that_cannot_be_written_say_so(tmp_path, run, monkeypatch):
    compose_project(tmp_path, "")
    (tmp_path / "afile").write_text("not a folder\n")
    for command in (["init", "."], ["import", "compose.yaml"]):
        result = run(*command, "-o", "afile/matrix.yaml", cwd=tmp_path)
        assert (result.exit_code, result.stderr) == (
            2, "afile/matrix.yaml: cannot write: a part of this path is a file, not a folder\n"
               "  hint: choose another path with -o\n")
    import bakegen.render.write

    def denied(*args, **kwargs):  # chmod does not stop root, who may run these tests
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(bakegen.render.write, "_open_new", denied)
    result = run("import", "compose.yaml", "-o", "out.yaml", cwd=tmp_path)
    assert (result.exit_code, result.stderr) == (
        2, "out.yaml: cannot write: Permission denied\n"
           "  hint: check the folder's permissions and free space, or choose another path with -o\n")


def test_a_file_with_no_from_is_no_dockerfile_and_no_line_0_is_named(tmp_path, run):
    (tmp_path / "app").mkdir()
    compose_project(tmp_path / "app", "      dockerfile: /etc/passwd\n")
    result = run("import", "compose.yaml", cwd=tmp_path / "app")
    assert result.stdout.startswith("wrote matrix.yaml:"), "the matrix is written where import runs, never at /"
    assert sorted(p.name for p in (tmp_path / "app").iterdir()) == ["Dockerfile", "compose.yaml", "matrix.yaml"]
    assert ":0:" not in result.stdout
    assert "  /etc/passwd (service 'api', compose.yaml:2) is missing or BuildKit cannot parse it\n" in result.stdout
