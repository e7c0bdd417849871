"""Packages for setuptools (the rest of the metadata is in pyproject.toml).

The wheel carries, inside massage_glove, the firmware (firmware/ as massage_glove._firmware:
the simulated glove runs it and `massage-glove flash` deploys it) and the simulated glove's
calibration (calibration/*.json as massage_glove._calibration).
"""
from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages("host", include=["massage_glove*"], exclude=["*__pycache__*"])
    + ["massage_glove._firmware", "massage_glove._firmware.glove", "massage_glove._calibration"],
    package_dir={"": "host", "massage_glove._firmware": "firmware",
                 "massage_glove._calibration": "calibration"},
)
