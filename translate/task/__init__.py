"""`nativeval translate-task`: a machine-translated (``mt_<tgt>_<bench>``) or round-trip-translated
(``rtt_<lang>_<bench>``) version of a catalogue task, written as a user-made lm-eval task.

Rows are read in the Hub schema from the source task's dataset (mirror or Hub; ``source``), translated
field by field with the ordinary pipeline (``units``, ``legs``: backends, segment cache, format protection,
resume after kill -9: every finished segment is in ``<task>/.work/segments.sqlite``), and written back in the
same schema and the same order (``output``), so lm-eval's doc ids (and each row's ``id``) are those of the
source. What is translated per benchmark is the catalogue's ``data/_translation.yaml`` (``request``);
extractive QA projects its answer spans through the translation (translate/span.py) and excludes, and
reports, the items whose span is lost. Empty or wrong-language segments are sent once more (without the
cache) and reported if they stay so. The task folder gets a quality report (``quality_report``: quality.json,
README). ``run.translate_task`` does it all.
"""
