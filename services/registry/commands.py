"""The registry's `wushe` subcommands: `wushe import-divisions FILE...` and
`wushe import-stations FILE... [--apply]`."""
import base64
import json
import os

from services.common.access import SYSTEM


def import_divisions(paths, cluster=None, chunk=5000, out=print, rpc=None):
    """Send division CSV rows (any file order) to the registry in chunks, then recount.

    cluster: an open RPC proxy; or rpc: one not yet open (a ClusterRpcProxy)."""
    if cluster is None:
        with rpc as opened:
            return import_divisions(paths, opened, chunk, out)
    from services.registry.division_files import read_division_files

    # Sorted parents first, so a reader never sees a unit whose region is missing.
    rows = read_division_files(paths)
    summary = {"inserted": 0, "updated": 0, "unchanged": 0}
    for start in range(0, len(rows), chunk):
        counts = cluster.registry.import_divisions(rows[start:start + chunk], caller=SYSTEM)
        for key in summary:
            summary[key] += counts[key]
    result = cluster.registry.finish_division_import(summary, caller=SYSTEM)
    out(f"divisions: {len(rows)} rows, {result['inserted']} new, {result['updated']} changed, "
        f"{result['unchanged']} unchanged; {result['regions']} regions recounted")
    return result


def import_stations(paths, cluster=None, apply=False, out=print, rpc=None, caller=SYSTEM):
    """Send station, staff and room sheets (CSV or .xlsx, any order) to the registry:
    a dry run unless `apply`. Prints the counts and every refused row; returns the report.

    cluster: an open RPC proxy; or rpc: one not yet open (a ClusterRpcProxy)."""
    if cluster is None:
        with rpc as opened:
            return import_stations(paths, opened, apply, out, caller=caller)
    files = []
    for path in paths:
        with open(path, "rb") as fh:
            files.append({"content": base64.b64encode(fh.read()).decode("ascii"),
                          "content_type": None, "filename": os.path.basename(path)})
    report = cluster.registry.import_stations({"files": files, "dry_run": not apply}, caller=caller)
    for row in report["rows"]:
        if row["status"] == "refused":
            out(f"refused  {row['sheet']} row {row['row']}: " + "; ".join(
                f"{r['column']}: {r['message']}" for r in row["reasons"]))
    for sheet in report["ignored_sheets"]:
        out(f"ignored  {sheet['sheet']}: {sheet['reason']}")
    out(f"stations: {report['rows_read']} rows, {report['new']} new, {report['changed']} changed, "
        f"{report['unchanged']} unchanged, {report['refused']} refused"
        + (f"; {report['events']} events" if apply else
           " (dry run: nothing written; run again with --apply to write the accepted rows)"))
    return report


def _import_stations(args):
    from services.common import rpcclient

    with rpcclient.cluster() as cluster:
        report = import_stations(args.files, cluster, apply=args.apply)
    if args.report:
        with open(args.report, "w", encoding="utf-8") as fh:
            json.dump(report, fh, ensure_ascii=False, indent=1)


def _import_divisions(args):
    from services.common import rpcclient

    with rpcclient.cluster() as cluster:
        import_divisions(args.files, cluster)


def register(subparsers):
    s = subparsers.add_parser("import-divisions", help="import division CSV files (any order)")
    s.add_argument("files", nargs="+")
    s.set_defaults(fn=_import_divisions)
    s = subparsers.add_parser("import-stations",
                              help="import station, staff and room sheets (CSV or .xlsx; "
                                   "a dry run unless --apply)")
    s.add_argument("files", nargs="+")
    s.add_argument("--apply", action="store_true", help="write the accepted rows")
    s.add_argument("--report", help="write the whole report (JSON) to this file")
    s.set_defaults(fn=_import_stations)
