"""A toy third-party adapter package, ``toyext``, written to a folder: an adapter declaring its
name and the registry it ships, registered under the entry point group. Either as sources with a
pyproject.toml (to pip install) or as an importable folder with a ``.dist-info`` beside it (what
an installed package looks like to importlib.metadata, in no time).

``toy-ext`` is the reference, except that its Dense layers count one parameter too many; its
registry pins that on ``model.flatten-dense-parameters``. ``toy-bare`` diverges alike and ships no
registry. The ``bad_*`` adapters ship broken registries.
"""
from __future__ import annotations

import textwrap
from pathlib import Path

ENTRY_POINTS = {"toy-ext": "toyext.backend:ToyExt", "toy-bare": "toyext.backend:ToyBare"}
CLAUSE = "model.flatten-dense-parameters"

BACKEND = '''\
"""A toy third-party adapter: the reference, with a Dense layer that counts one parameter too many."""
from backends.base import Declaration
from backends.reference import Reference


class _CountsOneMore(Reference):
    def summary(self, built):
        rows = super().summary(built)
        for layer, row in zip(built.spec.layers, rows):
            if layer.kind == "dense":
                row.trainable += 1
                if row.params is not None:  # the framework's own count, which the clause reads
                    row.params += 1
        return rows


class ToyExt(_CountsOneMore):
    declaration = Declaration(name="toy-ext", framework="toyframe", display="a toy third-party framework",
                              requires=("numpy",), divergences="divergences.yaml")


class ToyBare(_CountsOneMore):
    declaration = Declaration(name="toy-bare", framework="toyframe", display="the toy, without a registry",
                              requires=("numpy",))


class NamedTorch(Reference):
    declaration = Declaration(name="torch", framework="toyframe", display="a toy that says it is torch")


class BadClause(Reference):
    declaration = Declaration(name="toy-bad-clause", framework="toyframe", display="a toy",
                              requires=("numpy",), divergences="bad-clause.yaml")


class BadBackend(Reference):
    declaration = Declaration(name="toy-bad-backend", framework="toyframe", display="a toy",
                              requires=("numpy",), divergences="bad-backend.yaml")


class Missing(Reference):
    declaration = Declaration(name="toy-missing-registry", framework="toyframe", display="a toy",
                              requires=("numpy",), divergences="no-such.yaml")
'''


def registry(backend: str, clause: str = CLAUSE, extra: int = 2) -> str:
    return textwrap.dedent(f"""\
        backend: {backend}
        divergences:
          - clause: {clause}
            reason: toyframe counts one parameter too many in a Dense layer.
            link: https://example.org/toyframe/issues/1
            observed:
              - {{check: equal, of: params, to: [voc_size*vec_dim, 0, inputs*vec_dim+{extra}]}}
        """)


def write_sources(folder: Path) -> Path:
    """The package ``toyext`` (its modules and registries) in ``folder``; returns the package."""
    package = Path(folder) / "toyext"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A toy third-party adapter package."""\n')
    (package / "backend.py").write_text(BACKEND)
    (package / "divergences.yaml").write_text(registry("toy-ext"))
    (package / "bad-clause.yaml").write_text(registry("toy-bad-clause", clause="model.no-such-clause"))
    (package / "bad-backend.yaml").write_text(registry("keras-jax"))
    return package


def _entry_points(points: dict) -> str:
    return "[embedding_conformance.backends]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())


def write_site(folder: Path, points: dict = ENTRY_POINTS, dist: str = "toyext", sources: bool = True) -> Path:
    """``folder`` as a site directory: the package (unless ``sources`` is false) and a
    ``<dist>-1.0.dist-info`` registering ``points``. Put it on sys.path or PYTHONPATH."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if sources:
        write_sources(folder)
    info = folder / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(_entry_points(points))
    return folder


def write_project(folder: Path) -> Path:
    """A project to ``pip install``: pyproject.toml (with the entry points) and the package."""
    folder = Path(folder)
    write_sources(folder)
    (folder / "pyproject.toml").write_text(textwrap.dedent("""\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "toyext"
        version = "1.0"

        [project.entry-points."embedding_conformance.backends"]
        """) + "".join(f'"{k}" = "{v}"\n' for k, v in ENTRY_POINTS.items()) + textwrap.dedent("""\

        [tool.setuptools]
        packages = ["toyext"]

        [tool.setuptools.package-data]
        toyext = ["*.yaml"]
        """))
    return folder
