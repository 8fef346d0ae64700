"""The report model: what a report holds (``schema``), how it is loaded, validated and pooled
(``model``), made from timed results (``frames``), and read and written on disk (``files``)."""
