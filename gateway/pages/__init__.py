"""Server-rendered web pages for officers: a token page, coverage, stations, a station,
staffing gaps, volunteer hour totals; and, for anyone, certificate verification. The pages are static HTML with a little vanilla JS that calls the
JSON API with the token kept in localStorage; nothing is loaded from elsewhere.
"""
from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    return render_template("index.html", page="index")


@bp.get("/signin")
def signin():
    """Sign in with login and password (gateway/pages/templates/signin.html)."""
    return render_template("signin.html", page="signin")


@bp.get("/ui/coverage")
def coverage():
    return render_template("coverage.html", page="coverage")


@bp.get("/ui/stations")
def stations():
    return render_template("stations.html", page="stations")


@bp.get("/ui/stations/<station_id>")
def station(station_id):
    return render_template("station.html", page="stations", station_id=station_id)


@bp.get("/ui/staffing-gaps")
def staffing_gaps():
    return render_template("gaps.html", page="gaps")


@bp.get("/ui/hours")
def hours():
    return render_template("hours.html", page="hours")


@bp.get("/verify")
def verify_certificate():
    """Public: anyone holding a certificate number checks it (no token)."""
    return render_template("verify.html", page="verify")
