"""``OUT/README.md``: a Hugging Face dataset card for a build.

Its YAML header lists each split's tar files under ``configs``, so ``datasets.load_dataset(OUT)``
(streaming or not) loads every split in one line and never reads the sidecars, the DALI indexes
or the manifest as data. The header is made from the manifest alone (same manifest, same bytes);
``flmprep verify`` checks it still matches. The text below the header is for people and may be
edited.
"""

from __future__ import annotations

import re

from flmprep.schemes import get_scheme
from flmprep.shards.manifest import Manifest

CARD_FILE = "README.md"
#: Split names Hugging Face ``datasets`` accepts.
HF_SPLIT = re.compile(r"^\w+(\.\w+)*$")


def front_matter(manifest: Manifest) -> str:
    """The YAML header (between its ``---`` lines, both included): tags and one ``default``
    config whose ``data_files`` list every non-empty split's tars in index order."""
    lines = ["---", f"pretty_name: {manifest.dataset} landmarks ({manifest.scheme}, flmprep recipe "
             f"{manifest.recipe})", "tags:", "- facial-landmarks", "- webdataset", "- flmprep",
             "configs:", "- config_name: default", "  data_files:"]
    for name, split in manifest.splits.items():
        if not split.shards:
            continue
        lines += [f"  - split: {name}", "    path:"]
        lines += [f"    - {shard.path}" for shard in split.shards]
    lines.append("---")
    return "\n".join(lines) + "\n"


def dataset_card(manifest: Manifest) -> str:
    """The whole card: the header, then what the build holds and how to load it."""
    k = get_scheme(manifest.scheme).num_points
    rows = [f"| {name} | {len(s.shards)} | {s.samples} | {s.records} | {s.rejected} |"
            for name, s in manifest.splits.items()]
    heatmaps = "with" if manifest.config.get("heatmaps") else "without"
    body = f"""
# {manifest.dataset} ({manifest.scheme}, {k} landmarks), built by flmprep {manifest.flmprep_version}

WebDataset shards of augmented face crops {heatmaps} heatmaps: per sample `KEY.json` (landmarks,
visibility, the source → crop transform, augmentation and attributes), the image and, with
heatmaps, `KEY.hm.png`. `manifest.json` lists every shard with its sha256; each shard has a
sidecar `shard-NNNN.json` and a DALI index `shard-NNNN.idx`.

| split | shards | samples | records | rejected |
|---|---|---|---|---|
{chr(10).join(rows)}

Load it:

```python
import datasets
splits = datasets.load_dataset("path/to/this/folder")          # every split; streaming=True works too

import flmprep.data                                              # balanced across ranks and workers
train = flmprep.data.LandmarkDataset("path/to/this/folder", "train", batch_size=32)
```

The YAML header above is generated from `manifest.json`; `flmprep verify` checks it.
"""
    return front_matter(manifest) + body


def card_problems(text: str, manifest: Manifest) -> list[str]:
    """Why ``text`` is not a card of ``manifest`` ([] when its header matches)."""
    expected = front_matter(manifest)
    if not text.startswith("---\n"):
        return ["expected a YAML header (a first line ---) listing the shards, found none"]
    end = text.find("\n---\n", 3)
    found = text[: end + 5] if end >= 0 else text
    if found != expected:
        return ["expected the YAML header generated from manifest.json (configs listing every split's "
                "shards), found a different one (only the text below the header may be edited)"]
    bad = [name for name, s in manifest.splits.items() if s.shards and not HF_SPLIT.match(name)]
    if bad:
        return [f"split {bad[0]!r}: expected a name Hugging Face datasets accepts (letters, digits, _)"]
    return []
