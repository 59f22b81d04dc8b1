"""Packages and package data; the metadata is in pyproject.toml.

The bundled models, board descriptions and protocol vectors stay at the top of the checkout, in one copy;
a wheel maps each folder to edgeperf/_data/<folder> as package data, and `edgeperf.resources` finds either.
"""

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

SHIPPED = {
    "models": ["*.tflite", "samples/*/*"],
    "boards": ["*/board.toml"],
    "protocols": ["*/README.md", "*/vectors/*.txt"],
}
DATA = "edgeperf._data"


class DataOnly(build_py):
    """The mapped folders are data: their scripts (models/build_models.py) are not installed as modules."""

    def find_package_modules(self, package, package_dir):
        return [] if package.startswith(DATA + ".") else super().find_package_modules(package, package_dir)


setup(
    packages=find_packages("host") + [f"{DATA}.{folder}" for folder in SHIPPED],
    package_dir={"": "host", **{f"{DATA}.{folder}": folder for folder in SHIPPED}},
    package_data={f"{DATA}.{folder}": patterns for folder, patterns in SHIPPED.items()},
    cmdclass={"build_py": DataOnly},
)
