"""Finishing a division import: what `wushe import-divisions` asks after its last chunk.

The chunks are stored by divisions.import_divisions (in any order, each safe
to repeat). When all are in, one command does the rest in one transaction with
its event: the regions' unit counts are recounted; if the import inserted or
changed anything, the coverage read model takes up the units' new kinds at
once (a township renamed to a development zone leaves the rates now, not at
its station's next event) and `divisions.imported` tells other services.
"""
from services.registry import coverage, divisions


def finish(tx, summary):
    """summary: the chunks' {inserted, updated, unchanged}; answered with `regions` recounted."""
    result = {**summary, "regions": divisions.recount_units(tx.db, tx.session)}
    if summary["inserted"] or summary["updated"]:
        coverage.resync_kinds(tx.db, tx.session)
        tx.emit("divisions.imported", "divisions", result)
    return result
