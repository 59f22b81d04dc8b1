"""Datasets in the MLPerf Tiny layout: `<root>/<model>/y_labels.csv` plus `.bin` inputs."""

from .layout import DatasetFile, read_dataset

__all__ = ["DatasetFile", "read_dataset"]
