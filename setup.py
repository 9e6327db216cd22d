"""The one computed fact of the build (pyproject.toml holds the rest): the sub-packages under `nativeval`."""

from setuptools import find_packages, setup

FOLDERS = ("tasks", "harness_ext", "translate", "finetune")
setup(packages=["nativeval", *(f"nativeval.{p}" for p in find_packages(include=[f"{f}*" for f in FOLDERS]))])
