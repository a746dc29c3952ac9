"""Server-rendered web pages for officers and station staff, in Chinese.

The pages are HTML with vanilla JS that calls the JSON API under /api/v1 with the token kept
in localStorage (templates/_common_js.html; static/ui.js: navigation by role, tables and their
export, forms with the API's field errors shown beside each control; static/charts.js with the
vendored ECharts). Nothing is loaded from elsewhere (gateway/security.py's CSP): every inline
script carries the request's nonce and no element has an inline event handler.

    /                                 keep a token (wushe token)          /signin  sign in
    /ui/home                          工作台: figures, trends, laggards, charts, drill-down
    /ui/coverage                      coverage by region and date, chart, drill-down
    /ui/stations, /ui/stations/{id}   stations; one station's profile across all services
    /ui/staffing-gaps                 stations short of 1+1+X
    /ui/rankings                      cities or counties ranked on a figure
    /ui/volunteers                    volunteers, registration, certificates
    /ui/hours, /ui/hours/record, /ui/hours/approvals    totals; recording; the approval queue
    /ui/certificates/{number}         a certificate to print
    /ui/funds, /ui/funds/{id}/report  funds; a fund's public report to print
    /ui/donations, /ui/receipts/{no}  donations and their entry; a receipt to print
    /ui/disbursements                 requests and their approval
    /ui/reports, /ui/reports/{station}/{month}   monthly reports; filing one (pre-filled)
    /ui/inspections, /ui/inspections/{id}        inspections; scoring one
    /ui/rectifications                rectification items, evidence, verification
    /verify                           anyone: check a certificate (no token)
"""
from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


def _page(template, page, **values):
    return render_template(template, page=page, **values)


@bp.get("/")
def index():
    return _page("index.html", "index")


@bp.get("/signin")
def signin():
    """Sign in with login and password (gateway/pages/templates/signin.html)."""
    return _page("signin.html", "signin")


@bp.get("/ui/home")
@bp.get("/ui")
def home():
    return _page("home.html", "home")


@bp.get("/ui/coverage")
def coverage():
    return _page("coverage.html", "coverage")


@bp.get("/ui/stations")
def stations():
    return _page("stations.html", "stations")


@bp.get("/ui/stations/<station_id>")
def station(station_id):
    return _page("station.html", "stations", station_id=station_id)


@bp.get("/ui/staffing-gaps")
def staffing_gaps():
    return _page("gaps.html", "gaps")


@bp.get("/ui/rankings")
def rankings():
    return _page("rankings.html", "rankings")


@bp.get("/ui/volunteers")
def volunteers():
    return _page("volunteers.html", "volunteers")


@bp.get("/ui/hours")
def hours():
    return _page("hours.html", "hours")


@bp.get("/ui/hours/record")
def record_hours():
    return _page("hours_record.html", "record")


@bp.get("/ui/hours/approvals")
def approvals():
    return _page("approvals.html", "approvals")


@bp.get("/ui/certificates/<number>")
def certificate(number):
    return _page("certificate.html", "volunteers", number=number)


@bp.get("/ui/funds")
def funds():
    return _page("funds.html", "funds")


@bp.get("/ui/funds/<fund_id>/report")
def fund_report(fund_id):
    return _page("fund_report.html", "funds", fund_id=fund_id)


@bp.get("/ui/donations")
def donations():
    return _page("donations.html", "donations")


@bp.get("/ui/receipts/<number>")
def receipt(number):
    return _page("receipt.html", "donations", number=number)


@bp.get("/ui/disbursements")
def disbursements():
    return _page("disbursements.html", "disbursements")


@bp.get("/ui/reports")
def reports():
    return _page("reports.html", "reports")


@bp.get("/ui/reports/<station_id>/<month>")
def report(station_id, month):
    return _page("report.html", "reports", station_id=station_id, month=month)


@bp.get("/ui/inspections")
def inspections():
    return _page("inspections.html", "inspections")


@bp.get("/ui/inspections/<inspection_id>")
def inspection(inspection_id):
    return _page("inspection.html", "inspections", inspection_id=inspection_id)


@bp.get("/ui/rectifications")
def rectifications():
    return _page("rectifications.html", "rectifications")


@bp.get("/verify")
def verify_certificate():
    """Public: anyone holding a certificate number checks it (no token)."""
    return _page("verify.html", "verify")
