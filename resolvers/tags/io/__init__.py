"""(1.2) A workspace's tags as one file and back: exportTags, importTags.

`rows.py` is what every format shares (the enums, a row of the file, the
`archived` column); `json_file.py`, `csv_file.py` and `github_labels.py` read
and write one format each; `planner.py` decides, without any I/O, what an
import does; `importing.py` runs an import (its one place of writes is
`write_import`) and `exporting.py` an export.
"""
