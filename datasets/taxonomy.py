"""ShapeNetCore synset ids and human names.

The built-in table covers the 55 ShapeNetCore (v1 and v2) categories. A ``taxonomy.json`` at the collection
root (a list of ``{"synsetId": ..., "name": "chair,seat,..."}`` entries, as shipped with ShapeNet) takes
precedence: its first comma-separated name is used, lower-cased, spaces replaced by underscores.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

__all__ = ["SHAPENET_SYNSETS", "load_taxonomy", "synset_name"]

log = logging.getLogger(__name__)

SHAPENET_SYNSETS: dict[str, str] = {
    "02691156": "airplane",
    "02747177": "trash_bin",
    "02773838": "bag",
    "02801938": "basket",
    "02808440": "bathtub",
    "02818832": "bed",
    "02828884": "bench",
    "02843684": "birdhouse",
    "02871439": "bookshelf",
    "02876657": "bottle",
    "02880940": "bowl",
    "02924116": "bus",
    "02933112": "cabinet",
    "02942699": "camera",
    "02946921": "can",
    "02954340": "cap",
    "02958343": "car",
    "02992529": "cellphone",
    "03001627": "chair",
    "03046257": "clock",
    "03085013": "keyboard",
    "03207941": "dishwasher",
    "03211117": "display",
    "03261776": "earphone",
    "03325088": "faucet",
    "03337140": "file_cabinet",
    "03467517": "guitar",
    "03513137": "helmet",
    "03593526": "jar",
    "03624134": "knife",
    "03636649": "lamp",
    "03642806": "laptop",
    "03691459": "loudspeaker",
    "03710193": "mailbox",
    "03759954": "microphone",
    "03761084": "microwave",
    "03790512": "motorbike",
    "03797390": "mug",
    "03928116": "piano",
    "03938244": "pillow",
    "03948459": "pistol",
    "03991062": "flowerpot",
    "04004475": "printer",
    "04074963": "remote_control",
    "04090263": "rifle",
    "04099429": "rocket",
    "04225987": "skateboard",
    "04256520": "sofa",
    "04330267": "stove",
    "04379243": "table",
    "04401088": "telephone",
    "04460130": "tower",
    "04468005": "train",
    "04530566": "watercraft",
    "04554684": "washer",
}


def _clean(name: str) -> str:
    return name.split(",")[0].strip().lower().replace(" ", "_")


def load_taxonomy(root: str | Path | None = None) -> dict[str, str]:
    """Synset id -> human name: the built-in table, overridden by ``<root>/taxonomy.json`` when readable."""
    table = dict(SHAPENET_SYNSETS)
    if root is None:
        return table
    path = Path(root) / "taxonomy.json"
    if not path.is_file():
        return table
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        for e in entries:
            sid, name = str(e["synsetId"]), str(e.get("name", ""))
            if name.strip():
                table[sid] = _clean(name)
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("ignoring unreadable %s (%s); using the built-in ShapeNet names", path, e)
    return table


def synset_name(synset: str, table: dict[str, str] | None = None) -> str:
    """Human name of a synset id; the id itself when unknown."""
    return (table or SHAPENET_SYNSETS).get(synset, synset)
