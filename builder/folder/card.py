"""The dataset card (README.md) of a prepared folder, regenerated from the folder alone.

The YAML front matter is what ``datasets`` loads by: ``configs`` (shard patterns per split) and
``dataset_info`` (features and split sizes). Both are written by the library's own writers, so
the card always parses the way ``load_dataset`` and the Hub parse it. The card is derived from
the folder's manifest and the shards on disk, never edited in place: ``prepare --add`` rewrites
it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import datasets
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard, DatasetCardData

import codecfake
from codecfake_core.dataset_folder import (
    FolderConfig,
    FolderManifest,
    Provenance,
    folder_configs,
)
from codecfake_core.io import atomic_write_text

TAGS = ["audio-deepfake-detection", "anti-spoofing", "neural-audio-codec", "speech"]


def content_stamp(folder: Path, config: FolderConfig, manifest: FolderManifest) -> str:
    """A short hash of what a configuration reads: its shards' names and content digests.

    ``datasets`` names a local folder's cache after the folder's name, the configuration and a
    hash of the card's YAML, never after the shards themselves. Without this stamp in the YAML,
    re-preparing a folder from another release (or loading another folder of the same name)
    silently returns the rows cached from the first one. A shard's digest is taken from its
    rows when it is written, so the same release prepared twice gives the same card, and
    ``--add`` leaves the stamps (and caches) of configurations it does not touch alone.
    A shard the manifest has no digest for (a folder from before) counts by size and time.
    """
    digest = hashlib.sha256()
    for patterns in config.data_files.values():
        for pattern in patterns:
            for shard in sorted(folder.glob(pattern)):
                name = shard.relative_to(folder).as_posix()
                stat = shard.stat()
                content = manifest.shard_digests.get(name, f"{stat.st_size}:{stat.st_mtime_ns}")
                digest.update(f"{name}\0{content}\n".encode())
    return digest.hexdigest()[:12]


def card_data(
    configs: list[FolderConfig], folder: Path, manifest: FolderManifest
) -> DatasetCardData:
    """The YAML front matter: metadata, ``configs`` and ``dataset_info`` for what is stored."""
    languages = sorted({lang for c in configs for lang in c.config.languages if lang})
    data = DatasetCardData(
        license=codecfake.LICENSE,
        language=languages,
        task_categories=["audio-classification"],
        pretty_name="Codecfake",
        tags=TAGS,
    )
    MetadataConfigs(
        {
            c.name: {
                "data_files": [{"split": s, "path": p} for s, p in c.data_files.items()],
                # part of the hash `datasets` keys its cache by: see content_stamp
                "description": f"{c.config.description} (shards {content_stamp(folder, c, manifest)})",
                **({"default": True} if c.name == codecfake.DEFAULT_CONFIG else {}),
            }
            for c in configs
        }
    ).to_dataset_card_data(data)
    DatasetInfosDict(
        {
            c.name: datasets.DatasetInfo(
                description=c.config.description,
                features=codecfake.FEATURES,
                config_name=c.name,
                splits=datasets.SplitDict(
                    {s: datasets.SplitInfo(name=s, num_examples=n) for s, n in c.sizes.items()}
                ),
            )
            for c in configs
        }
    ).to_dataset_card_data(data)
    return data


def render_card(folder: Path, manifest: FolderManifest) -> str:
    configs = folder_configs(folder, manifest)
    if not configs:
        raise codecfake.CodecfakeError(f"{folder}: no configuration has any stored clips")
    data = card_data(configs, folder, manifest)
    body = "\n".join(
        [
            "# Codecfake",
            "",
            "Real English (VCTK) and Mandarin (AISHELL-3) speech, and the same utterances passed "
            "through neural audio codecs (encode, then decode), for training and testing "
            "audio-deepfake detectors. Paper: [arXiv 2405.04880](https://arxiv.org/abs/2405.04880); "
            f"official release: <{codecfake.HOMEPAGE}>. Prepared with the `codecfake` package "
            f"{codecfake.__version__}.",
            "",
            "## Conditions",
            "",
            _conditions_table(configs, manifest),
            "",
            "## Configurations",
            "",
            _configs_table(configs),
            "",
            "Columns: `audio` (decoded at 16 kHz; the stored bytes are the release's own WAV "
            "files), `file`, `label` (`real`/`fake`), `condition`, `codec` (empty for real "
            "clips), `language`, `speaker`, `utterance` (shared by a fake and its real original).",
            *_shared_reals_note(manifest),
            "",
            "## Usage",
            "",
            _usage(configs),
            "",
            "## Licence and provenance",
            "",
            "The original Codecfake release is licensed CC BY-NC-ND 4.0. Conditions rebuilt or "
            "added beyond it carry their source corpora's licences (VCTK: CC BY 4.0; AISHELL-3: "
            "Apache-2.0); the conditions table says which applies to each, and `provenance/` "
            "holds the builder's manifests.",
            "",
            "## Citation",
            "",
            "```bibtex",
            codecfake.CITATION,
            "```",
            "",
        ]
    )
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def _shared_reals_note(manifest: FolderManifest) -> list[str]:
    """What "shared" means for this folder: said only when some real clips are stored apart."""
    if not manifest.keyed_reals:
        return []
    note = (
        "Real clips are shared: each is stored once, and every configuration that uses it reads "
        "the same bytes. Some are stored apart, under `data/real-*/` (listed in the "
        "folder's manifest), because only some conditions list them or because their copies "
        "differ between the release's condition folders; each configuration reads the copy of "
        "its own condition's folder."
    )
    if manifest.differing:
        examples = ", ".join(f"`{d}`" for d in manifest.differing[:5])
        note += (
            f" In this release {len(manifest.differing):,} real clips have differing copies "
            f"(e.g. {examples}), so a real clip's bytes can differ between configurations."
        )
    return ["", note]


def write_card(folder: Path, manifest: FolderManifest | None = None) -> None:
    """(Re)write ``folder/README.md`` from the folder's manifest and shards."""
    manifest = manifest or FolderManifest.read(folder)
    atomic_write_text(folder / "README.md", render_card(folder, manifest))


def _conditions_table(configs: list[FolderConfig], manifest: FolderManifest) -> str:
    stored = {p.split("/")[1] for c in configs for ps in c.data_files.values() for p in ps}
    lines = [
        "| condition | codec / system | rate | kbps | quantizers | splits | in `all` | source | licence |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, spec in manifest.conditions.items():
        if name not in stored:
            continue
        rate = f"{spec.sample_rate / 1000:g} kHz" if spec.sample_rate else "-"
        origin = manifest.provenance.get(name)
        source = _source(origin) if origin else "-"
        licence = origin.licence if origin else "-"
        pooled = "yes" if name in manifest.aggregates else "no"
        lines.append(
            f"| {name} | {spec.codec} | {rate} | {spec.bitrate_kbps or '-'} "
            f"| {spec.quantizers or '-'} | {', '.join(spec.splits)} | {pooled} | {source} "
            f"| {licence} |"
        )
    return "\n".join(lines)


def _source(origin: Provenance) -> str:
    parts = [origin.source]
    if origin.checkpoint:
        parts.append(f"checkpoint: {origin.checkpoint}")
    if origin.made_by:
        parts.append(f"made by: {origin.made_by}")
    parts.extend(f"[{Path(m).name}]({m})" for m in origin.manifests)
    return "; ".join(parts)


def _configs_table(configs: list[FolderConfig]) -> str:
    lines = ["| config | train | validation | test |", "|---|---|---|---|"]
    for c in configs:
        cells = [f"{c.sizes[s]:,}" if s in c.sizes else "-" for s in codecfake.SPLITS]
        name = f"`{c.name}` (default)" if c.name == codecfake.DEFAULT_CONFIG else f"`{c.name}`"
        lines.append(f"| {name} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _usage(configs: list[FolderConfig]) -> str:
    example = next((c.name for c in configs if c.name == "en_C3"), configs[0].name)
    split = next(iter(next(c for c in configs if c.name == example).sizes))
    return f"""\
```python
import datasets
from codecfake_core import with_fast_audio  # pip install codecfake: fast audio without torch

ds = datasets.load_dataset("codecfake", "{example}", split="{split}")   # a local folder named codecfake, or a Hub id
print(ds[0]["label"], ds[0]["audio"]["sampling_rate"])

stream = datasets.load_dataset("codecfake", "{example}", split="{split}", streaming=True)
print(next(iter(stream))["file"])

fast = with_fast_audio(ds)     # soundfile + soxr: arrays at 16 kHz, several times faster
print(fast[0]["audio"]["array"].shape)
```"""
