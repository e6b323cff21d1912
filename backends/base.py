"""The adapter contract.

An adapter maps the framework-neutral model of a clause onto one framework's *own* built-in
features and reports what the framework does. It must never correct the framework: a divergence
is the product. One short subclass per framework; the framework is imported lazily inside the
methods so that a missing framework means "skipped, with the reason", never a crash.

Weights cross the boundary in the **reference layout** (Keras conventions), per layer:

==============  ===================================================================
embedding       ``[matrix (input_dim, output_dim)]``
dense           ``[kernel (in, units), bias (units,)]``
simple_rnn      ``[kernel (in, u), recurrent (u, u), bias (u,)]``
lstm            ``[kernel (in, 4u), recurrent (u, 4u), bias (4u,)]``, gates i, f, c, o
gru             ``[kernel (in, 3u), recurrent (u, 3u), bias (2, 3u)]``, gates z, r, h,
                reset applied after the recurrent matmul (Keras ``reset_after=True``)
flatten         ``[]``
==============  ===================================================================

A third party runs the suite on its own adapter with ``python -m conformance run --backend NAME``
(or ``pytest --pyargs conformance --backend NAME``), NAME being its declared name once its package
registers the class under the entry point group ``embedding_conformance.backends``, or
``package.module:ClassName``; its divergences go in a registry file its package ships
(``Declaration(divergences="divergences.yaml")``, beside the adapter's module).
docs/ADAPTERS.md describes every method for authors: what it receives, what it returns, which
clauses call it; examples/flax_nnx/ is a worked example outside the core.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

LAYER_KINDS = ("embedding", "flatten", "dense", "simple_rnn", "lstm", "gru")


class Unsupported(Exception):
    """The framework has no counterpart for what the clause asks; ``str(exc)`` says why."""


class FrameworkRaised(Exception):
    """Wraps an exception that the framework raised in the adapter's own frame (e.g. an
    AttributeError for an API the document uses that no longer exists), so it is reported as the
    framework's behaviour, not as an adapter bug. ``raise FrameworkRaised(exc) from exc``."""

    def __init__(self, exc: BaseException):
        super().__init__(str(exc))
        self.type_name = type(exc).__name__


@dataclass(frozen=True)
class Layer:
    """One layer of a clause's model: ``kind`` is one of LAYER_KINDS, ``args`` its arguments.

    Embedding args: input_dim, output_dim, input_length, mask_zero, trainable,
    embeddings_initializer ("uniform", "zeros" or "ones"; Keras' names),
    embeddings_constraint ({"unit_norm": {"axis": 1}}), embeddings_regularizer ({"l2": f}).
    Dense/RNN args: units, return_sequences (RNNs).
    """

    kind: str
    args: dict = field(default_factory=dict)

    def get(self, key, default=None):
        return self.args.get(key, default)


@dataclass(frozen=True)
class Model:
    """A Sequential stack. ``input_shape`` excludes the batch axis; ``None`` means inferred."""

    layers: tuple[Layer, ...]
    input_shape: tuple | None = None
    input_dtype: str = "int32"


@dataclass
class LayerSummary:
    """What ``model.summary()`` shows for one layer; the batch axis is ``None``.

    ``params`` is the framework's own count of the layer's parameters (Keras ``count_params()``,
    the "Param #" column of ``summary()``; PyTorch ``sum(p.numel() for p in module.parameters())``),
    read from the framework, never added up by the adapter: a framework whose count leaves out a
    frozen layer's weights must show it. ``None``: the adapter has no such count, and the
    observation's ``params`` is then ``trainable + non_trainable``."""

    output_shape: tuple
    trainable: int
    non_trainable: int
    params: int | None = None


# The document's models written with ``input_length`` and no Input, by document_call name: the
# layers after ``Embedding(VOC_SIZE, VEC_DIM, input_length=inputs)``. The call reports what
# model.summary() shows before any data: output shapes and parameter counts (trainable and not).
INPUT_LENGTH_MODELS = {
    "input_length_embedding": (),
    "input_length_flatten_dense": (Layer("flatten"), Layer("dense", {"units": 1})),
    "input_length_dense": (Layer("dense", {"units": 1}),),
    "input_length_lstm": (Layer("lstm", {"units": 1}),),
}


RNN_KINDS = ("simple_rnn", "lstm", "gru")


def features_after(layer: Layer, features, length):
    """(last-axis size, sequence length) after ``layer`` in a Sequential stack, for a framework
    whose layers need their input size up front (PyTorch's nn.Linear/nn.RNN, Flax's nnx.Linear)."""
    if layer.kind == "embedding":
        return layer.args["output_dim"], layer.get("input_length") or length
    if layer.kind == "flatten":
        return (features * length if features and length else None), None
    return layer.args["units"], length


def mask_flow(model: Model) -> tuple[bool, bool]:
    """Where a Keras mask goes in ``model``, for a framework without masks: (a recurrent layer
    runs behind a masking embedding, so the adapter derives step lengths from ``x != 0``; the
    stack's output still carries the mask, so Keras' loss is the masked mean). An RNN returning
    sequences keeps the mask, one returning its last state ends it, and so does Flatten."""
    masked = behind_rnn = False
    for layer in model.layers:
        if layer.kind == "embedding":
            masked = bool(layer.get("mask_zero"))
        elif layer.kind in RNN_KINDS:
            behind_rnn = behind_rnn or masked
            masked = masked and bool(layer.get("return_sequences"))
        else:
            masked = masked and layer.kind != "flatten"
    return behind_rnn, masked


RELEASE_ROLES = ("oldest", "middle", "pinned", "nightly")


@dataclass(frozen=True)
class Release:
    """A framework release that ``python -m conformance sweep`` runs the backend on, in a virtual
    environment of its own. The pinned release is not listed: it is the declaration's ``pins``.

    ``requirements`` are pip's (with the pins an old release needs, e.g. ``numpy<2``); the suite's
    own dependencies are added unpinned. ``no_deps`` are installed afterwards with ``--no-deps``.
    ``pre``: pip ``--pre`` (not needed for a nightly that is its package's only candidate).
    """

    release: str                      # label: results go to <backend>@<release>.json
    role: str                         # oldest | middle | nightly (pinned: made from the pins)
    requirements: tuple[str, ...]
    no_deps: tuple[str, ...] = ()
    pre: bool = False
    note: str = ""                    # why these requirements, for whoever edits them

    def __post_init__(self):
        if self.role not in RELEASE_ROLES:
            raise ValueError(f"release {self.release!r}: role must be one of {', '.join(RELEASE_ROLES)}, "
                             f"not {self.role!r}")


@dataclass(frozen=True)
class CompileCache:
    """A framework's own on-disk cache of compiled programs, switched on through the worker's
    environment (conformance/running/compile_cache.py gives it a folder the run owns).

    The folder is keyed by the installed versions of ``distributions`` and the values of
    ``key_env`` in the worker's environment, so that another release, or other compiler flags,
    never finds the executables of this one (the framework's own key may say so too; this does
    not rely on it).
    """

    folder_env: str                                      # names the folder, e.g. JAX_COMPILATION_CACHE_DIR
    distributions: tuple[str, ...]                       # whose versions key the folder
    key_env: tuple[str, ...] = ()                        # variables that key it too, e.g. XLA_FLAGS
    settings: Mapping[str, str] = field(default_factory=dict)  # more variables set with the folder
    # more variables, set only when the module named is installed (e.g. a size bound that needs
    # a lock library): {module: {variable: value}}
    settings_with: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "settings_with", MappingProxyType(
            {module: MappingProxyType(dict(values)) for module, values in self.settings_with.items()}))
        if not self.distributions:
            raise ValueError(f"compile cache {self.folder_env}: name the distributions that key its folder")


@dataclass(frozen=True)
class Declaration:
    """Everything the project knows about a backend, declared once, on its adapter class
    (``declaration = Declaration(...)``). backends/__init__.py discovers the adapters of the
    package by it; the run's order, xdist's costs (conformance/running/scheduling.py), the sweep's
    releases, and the generated blocks of pyproject.toml, tox.ini, the CI workflow, the Makefile
    and the README (``python -m conformance catalogue --write``) all come from it.

    A third-party adapter declares at least its name, framework, display name and ``requires``,
    and ships its divergence registry with ``divergences``: a YAML file of the registry's format
    (docs/DIVERGENCES.md), its path relative to the folder of the adapter's module, e.g.
    ``Declaration(name="flax-nnx", framework="flax", display="Flax NNX", requires=("flax", "jax"),
    divergences="divergences.yaml")``. Its order and cost have defaults (after the built-ins).
    """

    name: str                         # --backend NAME, tox env, CI job, report column
    framework: str                    # the framework's name in reports, e.g. "keras"
    display: str                      # what runs, for people: "Keras 3 on JAX"
    order: int = 1000                 # place in the default order of a run (ascending)
    seconds_per_item: float = 0.05    # expected cost under xdist (scheduling.py): only the order matters
    summary: str = ""                 # one more phrase for the README's table
    requires: tuple[str, ...] = ()    # modules that must be importable, e.g. ("keras", "jax")
    pins: tuple[str, ...] = ()        # pip requirements, exactly pinned: the extra and the tox env
    no_deps: tuple[str, ...] = ()     # installed afterwards with pip --no-deps (the install quirk)
    no_deps_why: str = ""             # why they need --no-deps: "it declares ..."
    env: Mapping[str, str] = field(default_factory=dict)           # the worker's environment
    env_defaults: Mapping[str, str] = field(default_factory=dict)  # unless the caller set it
    releases: tuple[Release, ...] = ()  # other releases for the sweep (the pinned one is ``pins``)
    pinned_release: str = ""          # the label of the pinned release in the sweep, e.g. "3.15"
    compile_cache: CompileCache | None = None  # the framework's cache of compiled programs, if any
    # the registry file the adapter ships (a third party's): relative to its module's folder
    divergences: str = ""
    # the framework is one the document describes (Keras): only these frameworks' divergences
    # from a normative statement make it an erratum of the tutorial (conformance/report/matrix.py)
    describes_document: bool = False
    # why the adapter refuses (raises Unsupported on) drawn examples whose document example it
    # runs, when that is a real limit of what it runs, e.g. "an exported model with static input
    # shapes: it runs the document's sizes only". Declared, a normative cell still conforms and
    # the report shows "N of M drawn examples refused: REASON"; undeclared (""), such a refusal is
    # a divergence (docs/DRAWN-EXAMPLES.md, "Refused examples")
    drawn_limit: str = ""
    # its drawn examples vary the inputs only: each clause's drawn examples keep one model (sizes,
    # weights, index dtype) and draw the batch, the length and the indices against it (an exported
    # backend: one export per model per clause; docs/DRAWN-EXAMPLES.md, "Drawn against one model")
    drawn_inputs_only: bool = False
    # a group extra of pyproject.toml its pins join besides its own and 'all' (e.g. "export": every
    # exported column's pins, pip install '.[export]'); conformance/tools/catalogue.py writes it
    group: str = ""

    def __post_init__(self):
        if type(self.drawn_limit) is not str:
            raise ValueError(f"backend {self.name!r}: drawn_limit says why in words (a str), "
                             f"not {self.drawn_limit!r}")
        object.__setattr__(self, "env", MappingProxyType(dict(self.env)))
        object.__setattr__(self, "env_defaults", MappingProxyType(dict(self.env_defaults)))
        if self.no_deps and not self.no_deps_why:
            raise ValueError(f"backend {self.name!r}: no_deps needs no_deps_why")
        if (self.pins or self.no_deps) and not self.pinned_release:
            raise ValueError(f"backend {self.name!r}: pins need pinned_release, their label in the sweep")
        if self.group in ("all", "dev", self.name):
            raise ValueError(f"backend {self.name!r}: group {self.group!r} is an extra of its own (a name "
                             "other than 'all', 'dev' and the backend's)")
        if any(r.role == "pinned" for r in self.releases):
            raise ValueError(f"backend {self.name!r}: the pinned release is pins and pinned_release, "
                             "not an entry of releases")

    def sweep_releases(self) -> tuple[Release, ...]:
        """Every release the sweep runs, oldest first: the listed ones and the pinned one."""
        pinned = (Release(self.pinned_release, "pinned", self.pins, self.no_deps),) if self.pinned_release else ()
        return tuple(sorted(self.releases + pinned, key=lambda r: RELEASE_ROLES.index(r.role)))


class Backend:
    """Base adapter. Subclasses set the class attributes and override the methods they support.

    Anything not overridden raises :class:`Unsupported`, so an adapter declares per method,
    and per clause through the arguments it refuses, what its framework has no concept for.
    """

    name: str = ""            # e.g. "keras-jax": the backend's identity (--backend, reports, registry)
    framework: str = ""       # the framework's name in reports, e.g. "keras"
    requires: tuple[str, ...] = ()  # modules that must be importable, e.g. ("keras", "jax")
    env: dict[str, str] = {}  # environment of the worker process (e.g. KERAS_BACKEND)
    # environment the worker gets unless the caller set the variable (e.g. compiler settings
    # that make a run faster and change no result)
    env_defaults: dict[str, str] = {}
    # the framework's on-disk cache of compiled programs (see CompileCache), None if it has none
    compile_cache: CompileCache | None = None
    # why it refuses drawn examples whose document example it runs, if that is a real limit
    # (Declaration.drawn_limit); "": it refuses none, and a refusal is a divergence
    drawn_limit: str = ""
    # its drawn examples keep one model per clause and vary the inputs only (Declaration)
    drawn_inputs_only: bool = False
    # A built-in adapter declares all of the above, and more, once (see Declaration); a
    # third-party adapter may set the attributes alone.
    declaration: Declaration | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declared = cls.__dict__.get("declaration")
        if declared is not None:
            cls.name, cls.framework, cls.requires = declared.name, declared.framework, declared.requires
            cls.env, cls.env_defaults = dict(declared.env), dict(declared.env_defaults)
            cls.compile_cache, cls.drawn_limit = declared.compile_cache, declared.drawn_limit
            cls.drawn_inputs_only = declared.drawn_inputs_only

    # -- which API of this release was used --------------------------------------------------
    def note_api(self, note: str) -> None:
        """Record how this release was called where releases differ (e.g. "pre-trained matrix via
        embeddings_initializer=Constant(matrix) (Keras 3.0 has no weights=)"). The worker puts the
        notes of each case into its observation as ``api``, and the result record carries them."""
        self.__dict__.setdefault("_api_notes", []).append(note)

    def take_api_notes(self) -> list[str]:
        """The notes since the last call, each once, in the order first noted."""
        return list(dict.fromkeys(self.__dict__.pop("_api_notes", [])))

    # -- identity -----------------------------------------------------------------------------
    def version(self) -> str:
        """Import the framework and return its version (ImportError if not installed)."""
        raise NotImplementedError

    def describe(self) -> str:
        """What runs, for people, in the report's header: e.g. "PyTorch 2.13.0 (nn.Embedding, ...)"."""
        return f"{self.framework} {self.version()}"

    def start(self) -> None:
        """Called once in the worker's process, after version() and describe() and before the
        first case: what the process needs done once (a framework made faster without changing
        what it computes, a patch the framework makes at its first use done where no case sees
        it). Nothing by default."""

    def release(self) -> str:
        """Which release ran, as one token for file names and report columns:
        ``name@version``, plus ``+engine-version`` where an engine underneath matters."""
        return f"{self.name}@{self.version()}"

    def seed(self, seed: int) -> None:
        """The seed of the builds that follow, so fresh layers are reproducible: called before the
        builds whose initial values a clause judges (``fresh_weights``: one seed, then ``count``
        builds, which must differ from each other). A framework with a global generator seeds it
        (``torch.manual_seed``); a functional one makes its key from it and draws every later
        build's key from that stream (Flax: ``self.rngs = nnx.Rngs(seed)``, passed to each build),
        so no global state is needed. Builds before any call may use any seed: their weights are
        set right after."""

    # -- models -------------------------------------------------------------------------------
    def build(self, model: Model, pretrained: np.ndarray | None = None) -> Any:
        """Build ``model``; with ``pretrained``, the embedding starts from that matrix, given
        at construction the way the framework's users do it (not by a later set_weights)."""
        raise Unsupported(f"{self.name} cannot build models")

    def reuse(self, built) -> None:
        """A hint, nothing more: ``built`` will serve many drawn examples, each setting its own
        weights and calling it with inputs of the same ranks (conformance/running/actions.py keeps it).
        An adapter may switch such a model to the framework's compiled calls (Keras on JAX
        compiles it; Flax wraps its calls in ``nnx.jit``), keeping them on ``built``. A model that
        never gets the hint (the document's own examples, construction) runs once: compiling it
        would cost more than it saves. Default: nothing."""

    def get_weights(self, built) -> list[list[np.ndarray]]:
        """Per layer, in the reference layout. Return copies, never views of live parameters:
        the aliasing clause compares reads taken before and after the caller's matrix changes."""
        raise Unsupported("reading weights")

    def set_weights(self, built, weights: list[list[np.ndarray]]) -> Any:
        """Give the model ``weights`` (reference layout). Mutate ``built`` and return None, or,
        for a framework whose state is immutable, return the new built model: the caller uses
        that from then on."""
        raise Unsupported("setting weights")

    def forward(self, built, x: np.ndarray) -> np.ndarray:
        """Inference call of the whole stack on one batch."""
        raise Unsupported("forward")

    def summary(self, built) -> list[LayerSummary]:
        """One row per layer, with the framework's own parameter count (LayerSummary.params)."""
        raise Unsupported("summary")

    def predict(self, built, x: np.ndarray) -> np.ndarray:
        """The framework's batch prediction path (Keras ``model.predict``), which may run
        compiled where :meth:`forward`'s call does not (the document calls ``m.predict``)."""
        raise Unsupported("the framework has no predict path apart from calling the model")

    def mask(self, built, x: np.ndarray) -> np.ndarray:
        """The boolean mask the embedding layer attaches to its output."""
        raise Unsupported("the framework's embedding produces no mask")

    def loss(self, built, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """(total loss, regularization part) of mean squared error, as the framework computes
        it when training (mask and regularizers included)."""
        raise Unsupported("loss")

    def train_step(self, built, x: np.ndarray, y: np.ndarray, lr: float) -> float | tuple[float, Any]:
        """One plain SGD step on mean squared error; returns the loss before the step, having
        updated ``built`` in place, or ``(loss, the new built model)`` for immutable state. The
        same model is trained many times with the same ``lr`` (drawn examples): keep the optimizer
        on the built model rather than making one per step."""
        raise Unsupported("training")

    def freeze(self, built, index: int) -> None:
        """Set layer ``index`` of a built (and already trained, so compiled) model to
        ``trainable=False`` the way the framework's users do after the fact (Keras:
        ``layer.trainable = False``; PyTorch: ``requires_grad_(False)`` on its parameters), and
        nothing more: no recompiling, no rebuilt optimizer (char.trainable-set-after-compile).
        Returns None (changed in place) or the new built model (immutable state)."""
        raise Unsupported("setting a built layer's trainable flag")

    def construct(self, kwargs: dict) -> Any:
        """Construct an embedding layer from raw keyword arguments (Keras names). A missing or
        unknown argument makes Python raise TypeError in *this* frame, not the framework's: wrap
        it, ``raise FrameworkRaised(exc) from exc``, so it counts as the framework's answer."""
        raise Unsupported("constructing from keyword arguments")

    def layer_config(self, layer) -> dict:
        """What the framework reports as the configuration of a layer from :meth:`construct`:
        ``{"embeddings_initializer": {"class_name": ..., **its arguments}}`` (Keras'
        ``layer.get_config()`` names)."""
        raise Unsupported("reading a layer's configuration")

    def document_call(self, name: str, **args) -> dict:
        """Run one of the document's own (Keras) code examples; see reference.py for the list."""
        raise Unsupported(f"the document's Keras call {name!r} has no {self.name} counterpart")

    def export_defaults(self, built, x: np.ndarray, inputs: list[np.ndarray]) -> dict:
        """An exported backend: what the exporter's default calls make of ``built`` (its weights
        set), called once on ``x`` first where the exporter needs a built model (Keras), ``x`` the
        example where it traces one (torch): no signature, no dynamic axes declared, what a user
        who writes neither gets. Each artifact is run in the runtime alone on every input of
        ``inputs`` as given (no cast). Plain values only: ``{name: {"call": the exporter's call
        as a user writes it, "input_dtype": the dtype the artifact declares, "input_shape": its
        declared shape (None where dynamic), "outputs": per input, output.tolist() or {"raised":
        type name, "message": text}}}``; an export that fails is ``{"call", "raised",
        "message"}``. The frameworks' own columns have nothing to export."""
        raise Unsupported("not an exported backend")

    # -- honesty ------------------------------------------------------------------------------
    def emulation(self, action: str, model: Model | None, args: dict,
                  clause: str | None = None) -> dict[str, str]:
        """Where this adapter itself computes what a clause tests, because the framework has no
        built-in for it: ``{observation field: the idiom a user writes by hand}`` for ``action``
        on ``model`` (fields as the actions name them: ``losses``, ``after``, ``outputs``,
        ``shapes[2]``, ...). A clause that reads such a field and conforms is reported as
        ``emulated``, not ``conform``: the framework conforms only where it computed the value.
        Mapping an argument to the framework's own feature (``trainable=False`` to
        ``requires_grad_(False)``) or reading what the framework returns is not emulation; doing
        the arithmetic, computing a mask, translating a hyper-parameter or converting a layout
        that the clause is about is. The Keras adapters declare none: every value they report
        comes from Keras' own calls. ``clause`` is the clause's id (e.g. ``mask.marks-nonzero-indices``);
        an adapter whose ``emulation`` takes only the first three arguments is called without it."""
        return {}

    # -- reporting ----------------------------------------------------------------------------
    def snippet(self, model: Model, action: str, args: dict) -> str | None:
        """Framework-only code reproducing ``action`` on ``model``, for failure reports."""
        return None
