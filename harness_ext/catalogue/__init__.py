"""The benchmark catalogue (data/*.yaml): tasks, provenance, task-YAML generation, the dataset layer, mirrors."""
