"""The benchmark catalogue (data/*.yaml): tasks, provenance, task-YAML generation, the dataset loader,
mirrors.

``catalogue()`` is the entry point: the built-in catalogue (:func:`.model.builtin_catalogue`) plus the
user-made tasks of the user task directory (:mod:`.user_tasks`).
"""

from nativeval.harness_ext.catalogue.model import Catalogue, builtin_catalogue
from nativeval.harness_ext.catalogue.user_tasks import with_user_tasks


def catalogue() -> Catalogue:
    """The built-in catalogue plus the user-made tasks of the user task directory."""
    return with_user_tasks(builtin_catalogue())
