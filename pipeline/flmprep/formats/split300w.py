"""300W's standard sets, re-split from the records of dlib's two XML files by image path.

dlib's ``labels_ibug_300W_test.xml`` is a random half of 300W plus mirrors, not a benchmark
set. The ``300w`` protocol puts each image where the 300-W challenge puts its folder:

- ``train`` = ``afw/``, ``helen/trainset/``, ``lfpw/trainset/`` (mirrors kept: they are training data);
- ``test_common`` = ``helen/testset/`` + ``lfpw/testset/``;
- ``test_challenge`` = ``ibug/``;

and drops ``<stem>_mirror`` images from the test sets (counted, never silently). A full
download gives 3,148 train originals (6,296 images with their mirrors), 554 common and 135
challenge images (689 in the full test set).
"""

from __future__ import annotations

import posixpath

PROTOCOL = "300w"
#: Both dlib files are needed: the standard sets are spread over the two.
REQUIRED_FILES = ("labels_ibug_300W_train.xml", "labels_ibug_300W_test.xml")
#: (folder prefix of the image path, standard set), first match wins.
STANDARD_SETS = (
    ("afw/", "train"),
    ("helen/trainset/", "train"),
    ("lfpw/trainset/", "train"),
    ("helen/testset/", "test_common"),
    ("lfpw/testset/", "test_common"),
    ("ibug/", "test_challenge"),
)
FOLDERS = ", ".join(prefix.rstrip("/") for prefix, _ in STANDARD_SETS)
#: Expected counts of a full download, for the docs and for a user checking theirs.
FULL_COUNTS = {"train": 3148, "test_common": 554, "test_challenge": 135}


def standard_split(image: str) -> str | None:
    """The standard set of an image path relative to the root, or None outside the six folders."""
    return next((split for prefix, split in STANDARD_SETS if image.startswith(prefix)), None)


def is_mirror(image: str) -> bool:
    """Whether ``image`` is one of dlib's mirrored copies (``<stem>_mirror.<ext>``)."""
    return posixpath.splitext(posixpath.basename(image))[0].endswith("_mirror")
