"""Neural networks (one module per paper) and the registry that builds any of them by name.

Importing this package registers every built-in model. ``create_model(name, num_classes=..., input_dims=...)``
builds one; ``list_models()`` names them; ``docs/models.md`` lists each with its paper and cost.
"""

import importlib
import importlib.util

# One module per paper; importing registers its models.
from serkit.models import autoencoder, bigru_mha, cnn1d, drsn_bigru, mfcc_nets, multi_input  # noqa: F401
from serkit.models.base import Batch, SerModel, lengths_to_mask
from serkit.models.registry import (
    ModelInfo,
    count_parameters,
    create_model,
    get_model_class,
    list_models,
    model_info,
    register_model,
)

# Modules owned by other parts of serkit (classic learners, pretrained-encoder heads) register themselves
# the same way once they exist; a failing import is an error, never skipped.
# The classic learners (serkit.models.classic) are imported where they are used: they load scikit-learn,
# which `serkit predict` never needs (about 1.5 s of its cold start).
for _mod in ("heads",):
    if importlib.util.find_spec(f"serkit.models.{_mod}") is not None:
        importlib.import_module(f"serkit.models.{_mod}")

__all__ = [
    "Batch",
    "ModelInfo",
    "SerModel",
    "count_parameters",
    "create_model",
    "get_model_class",
    "lengths_to_mask",
    "list_models",
    "model_info",
    "register_model",
]
