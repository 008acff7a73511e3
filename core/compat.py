"""Every use of a private (or undocumented) part of ``datasets`` and ``huggingface_hub``.

The dataset card must parse exactly as ``load_dataset`` and the Hub parse it, and a publish must
skip exactly what ``upload_folder`` skips, so a few of the libraries' own internals are used
rather than re-implemented. They may change in any release: each is wrapped here, once, and
``tests/test_compat.py`` checks each wrapper against the installed library, so an upgrade that
moves one fails there, by name, instead of somewhere inside ``prepare`` or ``publish``.
The libraries are imported inside each wrapper, so importing this module costs nothing.
"""

from __future__ import annotations

from typing import Any


def info_to_yaml_dict(info: Any) -> dict[str, Any]:
    """A ``datasets.DatasetInfo`` as the ``dataset_info`` entry of a card's YAML.

    ``DatasetInfosDict.to_dataset_card_data`` writes the same dict; this is its per-info step.
    """
    return info._to_yaml_dict()


def info_from_yaml_dict(entry: dict[str, Any]) -> Any:
    """A card's ``dataset_info`` entry read back the way ``load_dataset`` reads it."""
    from datasets import DatasetInfo

    return DatasetInfo._from_yaml_dict(entry)


def check_data_files_field(entry: dict[str, Any]) -> None:
    """Raise ``ValueError`` when a ``configs`` entry's ``data_files`` is a shape ``datasets``
    refuses (it names what it expected); nothing when it is fine or absent."""
    from datasets.utils.metadata import MetadataConfigs

    MetadataConfigs._raise_if_data_files_field_not_valid(entry)


def upload_ignore_patterns() -> list[str]:
    """The patterns ``HfApi.upload_folder`` always leaves out (``.git``, the local cache)."""
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS

    return list(DEFAULT_IGNORE_PATTERNS)


def hub_transport_errors() -> tuple[type[Exception], ...]:
    """What huggingface_hub's HTTP client raises when the connection itself fails.

    huggingface_hub 2.x sends through ``httpx2`` and lets its transport errors through.
    """
    import httpx2

    return (httpx2.TransportError,)
