"""The ``model`` section of a config: one frozen dataclass per family, and the family registry.

No TensorFlow here. ``FAMILIES`` maps ``model.family`` to its config class and the
module of ``normexp.models`` that builds it. A key that belongs to another family
is rejected with a line naming it (see ``normexp.config.schema``). Each class's
``problems()`` holds the checks that need several fields at once: a norm the
family cannot use, GroupNorm ``groups`` that do not divide the channels, a
kernel larger than the image a block receives after the pooling before it.
"""

import dataclasses
import typing

from normexp.config.norms import CELLS, NORMS
from normexp.config.optimizers import ACTIVATIONS
from normexp.config.schema import field, in_registry, one_of, suggestion
from normexp.registry import Registry

IMAGE_SIZE = 28
POOLINGS = ("max", "average", "none")
# Sequence lengths that read every step from one row: whole rows (1 to 28 steps of 28 to
# 784 pixels) or equal pieces of a row (56 to 784 steps of 14 to 1 pixels).
ROW_ALIGNED_STEPS = (1, 2, 4, 7, 14, 28, 56, 112, 196, 392, 784)
PIXEL_RANGES = ("unit", "centered")


def dropout_check(value):
    return None if 0 <= value < 1 else "must be in [0, 1)"


def positive_items(values):
    return None if all(value > 0 for value in values) else "every entry must be > 0"


# keras.initializers names (kept here so that loading a config never imports TensorFlow).
INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                "lecun_normal", "random_normal", "random_uniform", "truncated_normal",
                "variance_scaling", "orthogonal", "constant", "zeros", "ones")
DROPOUT_POSITIONS = ("end", "before_norm")


def initializer_check(value):
    name = value.get("name")
    if name not in INITIALIZERS:
        return f"needs a 'name', one of: {', '.join(INITIALIZERS)}"
    return None


def positive_or_each(value):
    values = value if isinstance(value, tuple) else (value,)
    return None if values and all(item > 0 for item in values) else "every entry must be > 0"


@dataclasses.dataclass(frozen=True)
class CommonModel:
    """Fields every family has; ``family`` is the discriminator."""

    DISCRIMINATOR = "family"
    family: str = field("mlp")
    activation: str = field("relu", in_registry(ACTIVATIONS))
    norm: str = field("none", in_registry(NORMS))
    placement: str = field("after")
    norm_args: dict = field({})
    dropout: float = field(0.0, dropout_check)

    PLACEMENTS = ("after", "before")

    def problems(self):
        """``(field, problem)`` pairs; the first is reported."""
        norm = NORMS.get(self.norm)
        if self.family not in norm.families:
            yield "norm", (f"{self.norm!r} does not apply to family {self.family!r} "
                           f"(it applies to: {', '.join(norm.families)})")
        if self.placement not in self.PLACEMENTS:
            yield "placement", (f"must be one of: {', '.join(self.PLACEMENTS)} for family "
                                f"{self.family!r}, got {self.placement!r}"
                                f"{suggestion(self.placement, self.PLACEMENTS)}")
        groups = norm.groups(dict(self.norm_args))
        if groups is not None and groups != -1:
            for index, channels in enumerate(self.normalized_widths()):
                if not isinstance(groups, int) or groups <= 0 or channels % groups:
                    yield "norm_args.groups", (
                        f"{groups!r} does not divide the {channels} channels of "
                        f"{self.width_field()}[{index}]; use a divisor of it")

    def normalized_widths(self):
        return ()

    def width_field(self):
        return "model"


@dataclasses.dataclass(frozen=True)
class MlpConfig(CommonModel):
    """``Flatten → [Dense block] × len(hidden) → Dense(10, softmax)``."""

    family: str = field("mlp")
    hidden: tuple[int, ...] = field((128, 64), positive_items)
    dropout_position: str = field("end", one_of(*DROPOUT_POSITIONS))
    kernel_initializer: dict = field({"name": "glorot_uniform"}, initializer_check)
    # The output layer's kernel; unset: kernel_initializer, as every Dense layer. Set it to
    # scale only the hidden kernels, the ones that feed a norm when there is one.
    output_kernel_initializer: dict | None = field(
        None, lambda value: None if value is None else initializer_check(value))

    def normalized_widths(self):
        return self.hidden

    def width_field(self):
        return "hidden"


@dataclasses.dataclass(frozen=True)
class CnnConfig(CommonModel):
    """``[Conv2D → norm → pooling] × len(filters) → Flatten → Dense head → Dense(10)``.

    ``kernel_size`` and ``pooling`` are one value for every block or a list with
    one entry per block; convolutions use ``same`` padding, pooling halves the
    image (``pool_size`` 2) with ``valid`` padding.
    """

    family: str = field("cnn")
    dropout_position: str = field("end", one_of(*DROPOUT_POSITIONS))
    filters: tuple[int, ...] = field((8, 16), positive_items)
    kernel_size: int | tuple[int, ...] = field(3, positive_or_each)
    pooling: str | tuple[str, ...] = field("max", choices=lambda: list(POOLINGS))
    pool_size: int = field(2, lambda value: None if value > 0 else "must be > 0")
    dense: tuple[int, ...] = field((32,), positive_items)

    def per_block(self, name):
        value = getattr(self, name)
        return value if isinstance(value, tuple) else (value,) * len(self.filters)

    def problems(self):
        yield from super().problems()
        for name in ("kernel_size", "pooling"):
            if len(self.per_block(name)) != len(self.filters):
                yield name, (f"has {len(self.per_block(name))} entries but filters has "
                             f"{len(self.filters)} blocks; give one value or one per block")
                return
        for index, pooling in enumerate(self.per_block("pooling")):
            if pooling not in POOLINGS:
                where = f"pooling[{index}]" if isinstance(self.pooling, tuple) else "pooling"
                yield where, (f"must be one of: {', '.join(POOLINGS)}, got {pooling!r}"
                              f"{suggestion(pooling, POOLINGS)}")
                return
        size = IMAGE_SIZE
        for index, (kernel, pooling) in enumerate(zip(self.per_block("kernel_size"),
                                                      self.per_block("pooling"))):
            if kernel > size:
                yield f"kernel_size[{index}]", (
                    f"kernel {kernel} is larger than the {size}x{size} image block "
                    f"{index + 1} receives after the pooling before it")
            size = size // self.pool_size if pooling != "none" else size
            if size < 1:
                yield "pool_size", f"pooling block {index + 1} leaves no pixels"
                return

    def normalized_widths(self):
        return self.filters

    def width_field(self):
        return "filters"


def row_aligned(value):
    return None if value in ROW_ALIGNED_STEPS else (
        f"must be one of {', '.join(map(str, ROW_ALIGNED_STEPS))}: the image read as steps of "
        f"{IMAGE_SIZE * IMAGE_SIZE} / steps pixels, each from one {IMAGE_SIZE}-pixel row "
        f"(whole rows, or equal pieces of a row)")


def cell_argument_problem(key, value):
    """Why ``norm_args.<key>`` cannot be used by an in-cell norm, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "must be a number"
    if key == "epsilon" and value <= 0:
        return "must be > 0"
    if key == "momentum" and not 0 <= value < 1:
        return "must be in [0, 1)"
    return None


@dataclasses.dataclass(frozen=True)
class RnnConfig(CommonModel):
    """The image as a sequence: ``[recurrent layer] × len(units) → Dense(10, softmax)``.

    ``steps`` time steps of ``784 / steps`` pixels each, read row by row (28: one
    row a step; 196: four pixels a step). ``pixels: centered`` reads pixel − 0.5
    instead of the pixel in [0, 1], so a blank stretch of the image is not an
    all-zero input (LayerNorm's singular point). ``placement: cell`` puts the norm inside
    the recurrence: LayerNorm of the pre-activations at every step (any cell, Ba
    et al. 2016) or recurrent BatchNorm with statistics per time step (LSTM,
    Cooijmans et al. 2016); ``placement: after`` puts the norm between stacked
    recurrent layers, applied to every time step's output. ``activation`` is the cell's.
    """

    family: str = field("rnn")
    activation: str = field("tanh", in_registry(ACTIVATIONS))
    cell: str = field("lstm", one_of(*CELLS))
    units: tuple[int, ...] = field((64,), positive_items)
    steps: int = field(IMAGE_SIZE, row_aligned)
    pixels: str = field("unit", one_of(*PIXEL_RANGES))

    PLACEMENTS = ("after", "cell")

    def width_field(self):
        return "units"

    def problems(self):
        yield from super().problems()
        if self.norm == "none":
            return
        if self.placement == "cell":
            yield from self.cell_norm_problems()
        if self.placement == "after" and len(self.units) < 2:
            yield "placement", ("'after' puts the norm between stacked recurrent layers, but "
                                "units has one layer; add a layer or use placement: cell")

    def cell_norm_problems(self):
        norm = NORMS.get(self.norm)
        if not norm.in_cell:
            cell_norms = [name for name in NORMS.names() if NORMS.get(name).in_cell]
            yield "norm", (f"{self.norm!r} cannot sit inside the recurrent cell "
                           f"(placement: cell allows: {', '.join(cell_norms)})")
            return
        if self.cell not in norm.in_cell:
            yield "cell", (f"{self.norm!r} inside the cell is written for: "
                           f"{', '.join(norm.in_cell)}; got {self.cell!r}")
        for key, value in self.norm_args.items():
            if key not in norm.cell_args:
                yield f"norm_args.{key}", (f"{self.norm!r} in the cell takes: "
                                           f"{', '.join(norm.cell_args)}")
            elif cell_argument_problem(key, value):
                yield f"norm_args.{key}", f"{cell_argument_problem(key, value)}, got {value!r}"


def divides_image(value):
    return None if value > 0 and IMAGE_SIZE % value == 0 else (
        f"must divide the {IMAGE_SIZE}-pixel image side (1, 2, 4, 7, 14 or 28)")


@dataclasses.dataclass(frozen=True)
class TransformerConfig(CommonModel):
    """A small vision transformer: the image as ``(28 / patch_size)²`` patch tokens.

    ``patch embedding (Dense) + learned position embeddings → [block] × depth →
    (final norm, Pre-LN only) → mean over tokens → Dense(10, softmax)``. A block is
    multi-head self-attention (``heads`` heads of ``width / heads`` features) and an
    MLP (``width · mlp_ratio`` hidden units, ``activation``), each on a residual path;
    ``placement: pre`` is ``x + f(norm(x))``, ``post`` is ``norm(x + f(x))``.
    ``dropout`` drops each branch's output before the residual add.
    """

    family: str = field("transformer")
    activation: str = field("gelu", in_registry(ACTIVATIONS))
    norm: str = field("layer", in_registry(NORMS))
    placement: str = field("pre")
    patch_size: int = field(7, divides_image)
    width: int = field(32, lambda value: None if value > 0 else "must be > 0")
    depth: int = field(2, lambda value: None if value > 0 else "must be > 0")
    heads: int = field(2, lambda value: None if value > 0 else "must be > 0")
    mlp_ratio: int = field(2, lambda value: None if value > 0 else "must be > 0")

    PLACEMENTS = ("pre", "post")

    def problems(self):
        if self.width % self.heads:
            yield "heads", (f"{self.heads} does not divide width {self.width}: each head "
                            f"takes width / heads features; use a divisor of {self.width}")
        yield from super().problems()

    def tokens(self):
        return (IMAGE_SIZE // self.patch_size) ** 2

    def normalized_widths(self):
        return (self.width,)

    def width_field(self):
        return "width"


FAMILY_CONFIGS = (MlpConfig, CnnConfig, RnnConfig, TransformerConfig)


@dataclasses.dataclass(frozen=True)
class Family:
    config_class: type
    module: str     # the builder module: ``build(model_config, input_shape, classes)``


FAMILIES = Registry("model family")
FAMILIES.register("mlp", Family(MlpConfig, "normexp.models.mlp"))
FAMILIES.register("cnn", Family(CnnConfig, "normexp.models.cnn"))
FAMILIES.register("rnn", Family(RnnConfig, "normexp.models.rnn"))
FAMILIES.register("transformer", Family(TransformerConfig, "normexp.models.transformer"))

# The annotation of ``RunSettings.model``: the schema picks the member by ``family``.
SECTION_CLASSES = tuple(FAMILIES.get(name).config_class
                        for name in ("mlp", *sorted(set(FAMILIES.names()) - {"mlp"})))
ModelSection = typing.Union[SECTION_CLASSES]
