"""Data sets: bundled MNIST, seeded synthetic generators, scikit-learn's small sets, user files."""

from . import clustbench  # registers clustbench:BATTERY/NAME
from .catalog import (
    Dataset,
    array_checksum,
    get_dataset,
    list_datasets,
    load_points_file,
    prefixed_names,
    register_dataset,
)
from .clustbench import true_k
from .mnist import ChecksumError, load_mnist, read_idx
from .synthetic import (
    make_blobs,
    make_blobs_outliers,
    make_elbow4,
    make_student_t,
    make_tutorial3,
)

__all__ = [
    "ChecksumError", "Dataset", "array_checksum", "get_dataset", "list_datasets", "load_mnist",
    "load_points_file", "make_blobs", "prefixed_names", "register_dataset", "make_blobs_outliers", "make_elbow4", "make_student_t",
    "make_tutorial3", "read_idx", "true_k", "clustbench",
]
