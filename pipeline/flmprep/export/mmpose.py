"""mmpose 1.x dataset meta-info generated from a landmark scheme: the Python file that
``metainfo=dict(from_file=...)`` reads (``dataset_info = dict(keypoint_info=..., ...)``).

Each keypoint's ``swap`` names the point it becomes under a horizontal flip (the scheme's flip
permutation: after mirroring x, point i takes point ``perm[i]``), so mmpose's ``flip_indices``
equal the permutation; a scheme without one gets no swaps (do not flip it).
"""

from __future__ import annotations

from typing import Any

from flmprep.schemes import Scheme

#: RGB colours mmpose draws keypoints with: image-left, image-right, the rest.
LEFT_COLOUR, RIGHT_COLOUR, CENTRE_COLOUR = [0, 200, 0], [0, 96, 255], [255, 64, 0]


def _colour(scheme: Scheme, i: int) -> list[int]:
    if i in scheme.left:
        return LEFT_COLOUR
    return RIGHT_COLOUR if i in scheme.right else CENTRE_COLOUR


def dataset_info(scheme: Scheme, dataset_name: str) -> dict[str, Any]:
    """The ``dataset_info`` dict mmpose's ``parse_pose_metainfo`` reads."""
    perm = scheme.flip_permutation
    keypoints: dict[int, dict[str, Any]] = {}
    for i, name in enumerate(scheme.names):
        swap = "" if perm is None or perm[i] == i else scheme.names[perm[i]]
        keypoints[i] = {"name": name, "id": i, "color": _colour(scheme, i), "type": "", "swap": swap}
    return {
        "dataset_name": dataset_name,
        "paper_info": {"title": f"{dataset_name} exported by flmprep ({scheme.name}, K={scheme.num_points})"},
        "keypoint_info": keypoints,
        "skeleton_info": {},
        "joint_weights": [1.0] * scheme.num_points,
        "sigmas": [],
    }


def nme_evaluator(scheme: Scheme) -> str:
    """The mmpose evaluator that normalises NME as flmprep does, as config text (or a comment)."""
    nme = scheme.nme
    if nme.kind == "points":
        return f"dict(type='NME', norm_mode='keypoint_distance', keypoint_indices=[{nme.a}, {nme.b}])"
    return f"None  # flmprep's NME divides by {nme.label}; mmpose's NME has no such mode here"


def dataset_info_source(scheme: Scheme, dataset_name: str) -> str:
    """The meta-info file's text: a header saying how to use it, then ``dataset_info = {...}``."""
    lines = []
    for name, value in dataset_info(scheme, dataset_name).items():
        if name == "keypoint_info":
            entries = [f"        {i}: {kp!r}," for i, kp in value.items()]
            lines += ["    'keypoint_info': {", *entries, "    },"]
        else:
            lines.append(f"    {name!r}: {value!r},")
    body = "{\n" + "\n".join(lines) + "\n}"
    header = (
        f"# mmpose 1.x dataset meta-info for a flmprep export of {dataset_name!r} (scheme {scheme.name}).\n"
        "# Use it with: metainfo=dict(from_file='<DEST>/dataset_info.py')\n"
        f"# NME normalised as flmprep computes it: val_evaluator = {nme_evaluator(scheme)}\n"
    )
    flip = "" if scheme.can_flip else "# This scheme has no flip permutation: leave RandomFlip out.\n"
    return f"{header}{flip}dataset_info = {body}\n"
