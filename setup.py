"""The one computed fact of the build (pyproject.toml holds the rest): the sub-packages under `nativeval`.

Namespace discovery, so that data-only folders (tasks/<name>/, catalogue/data/, translate/prompts/...) are
packages too and setuptools ships their files without warning that they are not listed. This file sits in
the package's own folder: the build leaves it out of the wheel (importing `nativeval.setup` would build).
"""

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

FOLDERS = ("tasks", "harness_ext", "translate", "finetune")
SUBPACKAGES = find_namespace_packages(
    include=[pattern for f in FOLDERS for pattern in (f, f"{f}.*")], exclude=["*__pycache__"]
)


class BuildPyWithoutSetup(build_py):
    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if (m[0], m[1]) != ("nativeval", "setup")]


setup(
    packages=["nativeval", *(f"nativeval.{p}" for p in SUBPACKAGES)],
    cmdclass={"build_py": BuildPyWithoutSetup},
)
