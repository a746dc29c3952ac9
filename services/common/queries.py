"""How every service answers a list and loads one record for a caller.

Division codes nest by prefix (34 > 3401 > 340102 > 340102001), and every
regional document keeps its township, county, city and province codes in the
fields `division_code` (or another township field), `county`, `city` and
`province`, so "in this region" is one equality on an indexed field.
"""
from services.common import access
from services.common.errors import InvalidInput, NotFound

REGION_FIELD = {2: "province", 4: "city", 6: "county", 9: "division_code"}

# One export answers at most this many rows: larger ones are narrowed first.
EXPORT_LIMIT = 20_000


def region_filter(region, township_field="division_code"):
    """{field: code} selecting documents inside `region` ('' or None: everything)."""
    if not region:
        return {}
    field = REGION_FIELD.get(len(region))
    if field is None:
        raise InvalidInput(f"region {region} is not a division code",
                           fields={"region": ["2, 4, 6 or 9 digits"]})
    return {township_field if field == "division_code" else field: region}


def scoped(caller, region, township_field="division_code"):
    """The filter of a list: the region asked for (or the caller's own), checked."""
    return region_filter(access.narrow(caller, region), township_field)


def regions_of(doc, township_field="division_code"):
    """The four region codes a regional document carries, for events and read models."""
    return {"division_code": doc[township_field], "county": doc["county"],
            "city": doc["city"], "province": doc["province"]}


def page(collection, selector, query, view, sort=(("_id", 1),)):
    """One page of a list: {items, total, page, per_page}; `view` maps the found docs."""
    page_, per_page = query["page"], query["per_page"]
    total = collection.count_documents(selector)
    found = collection.find(selector).sort(list(sort)).skip((page_ - 1) * per_page).limit(per_page)
    return {"items": view(list(found)), "total": total, "page": page_, "per_page": per_page}


def export_rows(collection, selector, sort, limit=EXPORT_LIMIT):
    """Every matching document for an export, refused when more than `limit` match."""
    total = collection.count_documents(selector)
    if total > limit:
        raise InvalidInput(f"{total} rows match; an export holds at most {limit}: narrow "
                           "the region or the period",
                           fields={"region": [f"more than {limit} rows"]})
    return list(collection.find(selector).sort(list(sort)))


def load_in_region(collection, doc_id, caller, *, what, field, region_field="division_code",
                   session=None):
    """The document `doc_id`, checked to lie in the caller's region.

    404 naming `field` when it does not exist; 403 naming `field` when it lies
    outside the caller's region. `region_field` holds the document's division code.
    """
    doc = collection.find_one({"_id": doc_id}, session=session)
    if doc is None:
        raise NotFound(f"no {what} {doc_id}", fields={field: ["not found"]})
    access.ensure_within(caller, doc[region_field], field)
    return doc
