"""The model zoo: a registry of named CNNs, each built the way its paper's tables read."""

from cnnstat.zoo import _catalog  # noqa: F401  (fills the registry)
from cnnstat.zoo._registry import (
    ModelEntry,
    Paper,
    aliases,
    close_matches,
    create_model,
    get_entry,
    list_families,
    list_models,
    natural_key,
    register_alias,
    register_model,
)

__all__ = [
    "ModelEntry",
    "Paper",
    "aliases",
    "close_matches",
    "create_model",
    "get_entry",
    "list_families",
    "list_models",
    "natural_key",
    "register_alias",
    "register_model",
]
