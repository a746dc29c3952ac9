"""The station sheets as officers write them: headings, value words, and which sheet is which.

Three kinds of sheet (docs/station-sheets.md lists every heading accepted):

    station   one row a station: its township, name, address, population served,
              operating organisation and the dates of its history
    staff     one row a person, keyed by the station (站点编号, or township + 站点名称)
    room      one row a community room (社工室) or micro-site, keyed the same way

A sheet is recognised by its headings, never by its name or its file's, so a
workbook's sheets and separate CSV files may come in any order. Each column
accepts several headings (Chinese as officers write them, and the English
key); the first is the one templates and exports write, so an exported sheet
imports back as it is. Headings are compared without spaces, with full-width
parentheses as ASCII ones and a trailing `*` (a template's "required") dropped.
"""
import re
from collections import namedtuple

STATION, STAFF, ROOM = "station", "staff", "room"
KINDS = (STATION, STAFF, ROOM)
TITLES = {STATION: "站点", STAFF: "人员", ROOM: "社工室"}

Column = namedtuple("Column", "key headings")

# How a staff or room row names its station (and a station row its township).
_STATION_KEY = [
    Column("station_id", ("站点编号", "站点ID", "站点代码")),
    Column("city", ("所属地市", "所属市", "地市", "所属城市")),
    Column("county", ("所属县区", "所属县(市、区)", "所属县(市,区)", "所属区县", "县区", "县(市、区)")),
    Column("township", ("所属乡镇", "所属乡镇(街道)", "乡镇(街道)", "乡镇街道", "乡镇", "街道")),
    Column("division_code", ("乡镇代码", "乡镇(街道)代码", "乡镇街道代码", "区划代码", "统计用区划代码")),
]

COLUMNS = {
    STATION: _STATION_KEY + [
        Column("name", ("站点名称", "社工站名称", "站名")),
        Column("address", ("地址", "站点地址", "详细地址")),
        Column("population_served", ("服务人口", "服务人口(人)", "服务人口数", "覆盖人口")),
        Column("operator_name", ("运营机构", "运营单位", "承接机构", "运营机构名称")),
        Column("operator_credit_code", ("运营机构统一社会信用代码", "统一社会信用代码", "信用代码")),
        Column("contract_start", ("合同开始日期", "服务合同开始日期")),
        Column("contract_end", ("合同结束日期", "服务合同结束日期")),
        Column("second_station_reason", ("设第二站原因", "第二站点原因", "两站原因")),
        Column("planned_on", ("规划日期", "立项日期")),
        Column("built_on", ("建成日期", "建站日期")),
        Column("opened_on", ("运营日期", "开始运营日期", "投入运营日期")),
        Column("suspended_on", ("暂停日期", "暂停运营日期")),
        Column("resumed_on", ("恢复运营日期", "恢复日期")),
        Column("closed_on", ("关闭日期", "撤销日期", "停止运营日期")),
        Column("status", ("状态", "站点状态", "运营状态")),
    ],
    STAFF: _STATION_KEY + [
        Column("station_name", ("站点名称", "社工站名称", "站名")),
        Column("staff_id", ("人员编号",)),
        Column("person_name", ("姓名", "人员姓名")),
        Column("role", ("岗位", "职务", "人员类别")),
        Column("phone", ("手机号", "手机号码", "联系电话", "电话")),
        Column("certification", ("持证等级", "职业资格", "社工证等级", "资格等级")),
        Column("since", ("入职日期", "到岗日期", "上岗日期")),
    ],
    ROOM: _STATION_KEY + [
        Column("station_name", ("站点名称", "社工站名称", "站名")),
        Column("room_id", ("社工室编号",)),
        Column("room_kind", ("类型", "社工室类型")),
        Column("room_name", ("社工室名称", "名称")),
        Column("village_code", ("村(社区)代码", "村社区代码", "村代码", "社区代码")),
        Column("village", ("村(社区)", "所在村(社区)", "村(社区)名称")),
        Column("address", ("地址", "详细地址")),
        Column("opened_on", ("启用日期", "开放日期")),
    ],
}

# English keys are accepted as headings too ("name" is the station's, or the person's).
_ENGLISH = {"person_name": "name", "room_kind": "kind", "room_name": "name", "operator_name": "operator",
            "operator_credit_code": "credit_code"}


def normalise(heading):
    text = str(heading if heading is not None else "").lstrip("\ufeff")
    text = text.replace("（", "(").replace("）", ")").replace("，", ",").replace("：", "")
    text = re.sub(r"\s+", "", text).rstrip("*").rstrip(":")
    return text.lower()


def _lookup(kind):
    found = {}
    for column in COLUMNS[kind]:
        for heading in column.headings + (column.key, _ENGLISH.get(column.key, column.key)):
            found.setdefault(normalise(heading), column.key)
    return found


LOOKUP = {kind: _lookup(kind) for kind in KINDS}
HEADING = {kind: {c.key: c.headings[0] for c in COLUMNS[kind]} for kind in KINDS}


def heading(kind, key):
    """The heading templates and exports write for a column."""
    return HEADING[kind].get(key, key)


def columns_of(kind, header):
    """{key: position} of the columns a header row holds, read as a `kind` sheet."""
    lookup = LOOKUP[kind]
    columns = {}
    for position, name in enumerate(header):
        key = lookup.get(normalise(name))
        if key and key not in columns:
            columns[key] = position
    return columns


def _station_key_given(columns, name_key):
    return "station_id" in columns or (name_key in columns and (
        "division_code" in columns or "township" in columns))


def recognise(header):
    """(kind, {key: position}) of a header row, or None when it is no station sheet's.

    Staff first (a person's name and role), then rooms (a kind or name with a
    village), then stations (a name and a township)."""
    staff = columns_of(STAFF, header)
    if "person_name" in staff and "role" in staff:
        return STAFF, staff
    room = columns_of(ROOM, header)
    if ({"room_kind", "room_name"} & set(room)) and ({"village_code", "village"} & set(room)):
        return ROOM, room
    station = columns_of(STATION, header)
    if "name" in station and ({"division_code", "township"} & set(station)):
        return STATION, station
    return None


def missing_columns(kind, columns):
    """The headings a recognised sheet still lacks (the first accepted of each)."""
    h = HEADING[kind]
    if kind == STATION:
        return []
    missing = []
    if not _station_key_given(columns, "station_name"):
        missing.append(f"{h['station_id']} (or {h['station_name']} with {h['division_code']} "
                       f"or {h['township']})")
    required = ("person_name", "role") if kind == STAFF else ("room_kind", "room_name")
    missing.extend(h[key] for key in required if key not in columns)
    if kind == ROOM and "village_code" not in columns and "village" not in columns:
        missing.append(f"{h['village_code']} (or {h['village']})")
    return missing


# ---- value words: what a cell may say, and what exports write (the first) ----

STATUS_WORDS = {
    "planned": ("规划中", "规划", "筹建", "筹建中", "planned"),
    "built": ("已建成", "建成", "建成未运营", "built"),
    "operating": ("运营中", "运营", "正常运营", "已运营", "operating"),
    "suspended": ("暂停运营", "暂停", "已暂停", "suspended"),
    "closed": ("已关闭", "关闭", "已撤销", "撤销", "closed"),
}
ROLE_WORDS = {
    "head": ("站长", "负责人", "head"),
    "supervisor": ("督导", "督导员", "supervisor"),
    "resident": ("驻站社工", "社工", "驻站社会工作者", "resident"),
}
CERTIFICATION_WORDS = {
    "none": ("无", "未持证", "none"),
    "junior": ("助理社会工作师", "初级", "junior"),
    "intermediate": ("社会工作师", "中级", "intermediate"),
    "senior": ("高级社会工作师", "高级", "senior"),
}
ROOM_KIND_WORDS = {
    "room": ("社工室", "社会工作室", "room"),
    "micro_site": ("微站点", "服务点", "micro_site"),
}
CHECKLIST_TITLES = {"premises": "有场所", "equipment": "有设备", "staff": "有人员",
                    "rules": "有制度", "funding": "有经费", "services": "有服务"}
CHECKLIST_STATE_WORDS = {"met": ("已满足",), "partial": ("部分满足",), "missing": ("未满足",)}


def word_of(words, value):
    """What an exported cell says for a stored value (the first word)."""
    return words[value][0] if value in words else value


def value_of(words, text):
    """The stored value a cell's word means, or None."""
    wanted = normalise(text)
    for value, names in words.items():
        if wanted in (normalise(n) for n in names):
            return value
    return None
