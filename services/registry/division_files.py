"""Reading the division CSV files: the NBS statistical division codes.

services/registry/data/divisions holds Anhui's; the whole country comes in the
same format. Five CSV files, each recognised by its header, never by its file
name:

    provinces   code,name                                        2 digits
    cities      code,name,provinceCode                           4 digits
    areas       code,name,cityCode,provinceCode                  6 digits (county level)
    streets     code,name,areaCode,provinceCode,cityCode         9 digits (township level)
    villages    code,name,streetCode,provinceCode,cityCode,areaCode   12 digits

Every ancestor column must be the code's prefix of its length (the parent's
included); each row becomes the row its code and name make
(services/registry/division_codes.py), so the columns are checked, not kept.
"""
import csv
import os

from services.common.errors import InvalidInput
from services.registry.division_codes import LEVEL_LENGTH, level_of, make_row

# Header (as a set of column names) -> level of the file's rows.
FILE_HEADERS = {
    frozenset(["code", "name"]): "province",
    frozenset(["code", "name", "provinceCode"]): "city",
    frozenset(["code", "name", "cityCode", "provinceCode"]): "county",
    frozenset(["code", "name", "areaCode", "provinceCode", "cityCode"]): "township",
    frozenset(["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"]): "village",
}
# Ancestor columns and the code length each must equal a prefix of.
ANCESTOR_COLUMNS = {"provinceCode": 2, "cityCode": 4, "areaCode": 6, "streetCode": 9}
PARENT_COLUMN = {"city": "provinceCode", "county": "cityCode", "township": "areaCode",
                 "village": "streetCode"}


def division_files(directory):
    """The CSV files of a division directory, sorted by name."""
    return sorted(
        os.path.join(directory, f) for f in os.listdir(directory) if f.lower().endswith(".csv")
    )


def _bad(path, line, field, problem):
    name = os.path.basename(str(path))
    return InvalidInput(
        f"{name} line {line}: {problem}",
        fields={field: [problem]},
        details={"file": name, "line": line},
    )


def read_division_files(paths):
    """Rows from any of the five division CSV files, given in any order.

    Returns row dicts sorted by level then code (so the result does not depend
    on the order of `paths`). A bad row (code of the wrong length for its
    file, code not starting with its parent's code, empty name, code seen
    twice) raises InvalidInput naming the file and line.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows = []
    seen = {}
    for path in paths:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows.extend(_read_file(path, csv.reader(fh), seen))
    rows.sort(key=lambda r: (len(r["code"]), r["code"]))
    return rows


def _read_file(path, reader, seen):
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise _bad(path, 1, "file", "empty file, no header") from None
    level = FILE_HEADERS.get(frozenset(header))
    if level is None or len(set(header)) != len(header):
        raise _bad(path, 1, "file", f"unrecognised header {','.join(header)}")
    col = {h: i for i, h in enumerate(header)}
    for values in reader:
        line = reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        if len(values) != len(header):
            raise _bad(path, line, "row", f"{len(values)} columns, the header has {len(header)}")
        code = values[col["code"]].strip()
        label = values[col["name"]].strip()
        if level_of(code) != level:
            raise _bad(path, line, "code",
                       f"code {code!r} is not {LEVEL_LENGTH[level]} digits ({level} file)")
        if not label:
            raise _bad(path, line, "name", f"empty name for code {code}")
        for column, length in ANCESTOR_COLUMNS.items():
            value = values[col[column]].strip() if column in col else None
            if value is not None and (len(value) != length or not code.startswith(value)):
                which = "its parent's" if column == PARENT_COLUMN[level] else f"its {column}"
                raise _bad(path, line, "code",
                           f"code {code} does not start with {which} code {value!r}")
        if code in seen:
            raise _bad(path, line, "code", f"code {code} already on {seen[code]}")
        seen[code] = f"{os.path.basename(str(path))} line {line}"
        yield make_row(code, label)
