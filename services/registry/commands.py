"""The registry's `wushe` subcommands: `wushe import-divisions FILE...`."""
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


def _import_divisions(args):
    from services.common import rpcclient

    with rpcclient.cluster() as cluster:
        import_divisions(args.files, cluster)


def register(subparsers):
    s = subparsers.add_parser("import-divisions", help="import division CSV files (any order)")
    s.add_argument("files", nargs="+")
    s.set_defaults(fn=_import_divisions)
