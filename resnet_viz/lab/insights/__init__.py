"""Five experiments from the literature on a trained residual net and its plain twin, as plain records.

Loss landscapes (Li et al. 2018), block lesions (Veit et al. 2016), effective receptive fields (Luo et al. 2016),
layer-response std (He et al. 2015, Fig. 7) and shattered gradients (Balduzzi et al. 2017).
"""

from __future__ import annotations

from .curvature import Curvature, hessian_extremes, hessian_vector_product
from .data import HELD_OUT_SEED, held_out
from .erf import ERF, effective_receptive_field, effective_receptive_fields, theoretical_field
from .evaluate import Progress, Score, eval_mode, evaluate
from .landscape import Landscape, Surface, filter_normalized_direction, grid_axis, loss_landscape, upward_share
from .lesion import BlockLesion, KLesion, Lesions, NetLesions, block_shapes, lesion_study, lesioned
from .record import Record
from .responses import NetResponses, Responses, layer_responses, response_layers, response_std
from .shattered import (
    GradientSeries,
    LabShattering,
    NeighbourGradients,
    Shattered,
    ToyNet,
    autocorrelation,
    input_gradient,
    neighbour_gradients,
    shattered_gradients,
)

__all__ = [
    "ERF",
    "HELD_OUT_SEED",
    "BlockLesion",
    "Curvature",
    "GradientSeries",
    "KLesion",
    "LabShattering",
    "Landscape",
    "Lesions",
    "NeighbourGradients",
    "NetLesions",
    "NetResponses",
    "Progress",
    "Record",
    "Responses",
    "Score",
    "Shattered",
    "Surface",
    "ToyNet",
    "autocorrelation",
    "block_shapes",
    "effective_receptive_field",
    "effective_receptive_fields",
    "eval_mode",
    "evaluate",
    "filter_normalized_direction",
    "grid_axis",
    "held_out",
    "hessian_extremes",
    "hessian_vector_product",
    "input_gradient",
    "layer_responses",
    "lesion_study",
    "lesioned",
    "loss_landscape",
    "neighbour_gradients",
    "response_layers",
    "response_std",
    "shattered_gradients",
    "theoretical_field",
    "upward_share",
]
