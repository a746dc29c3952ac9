"""Events the volunteer service publishes and the ones it consumes.

Published on exchange `volunteer.events`, routing key = CloudEvents type:
  wushe.volunteer.volunteer.registered.v1   a volunteer registered: volunteer_number,
                                            region, station_id and region codes
  wushe.volunteer.team.created.v1           team_id, station_id, parent_id, kind, name,
                                            region codes
  wushe.volunteer.activity.created.v1       activity_id, team_id, station_id, category,
                                            title, place, starts_at, ends_at, capacity,
                                            region codes
  wushe.volunteer.hours.recorded.v1         an hour record awaiting approval
  wushe.volunteer.hours.approved.v1         an hour record approved (counts in totals)
  wushe.volunteer.hours.rejected.v1         an hour record rejected (its time freed)
  wushe.volunteer.hours.corrected.v1        a compensating record for an approved one:
                                            corrects, delta_minutes, cancelled
  wushe.volunteer.certificate.issued.v1     number, volunteer_number, period_from,
                                            period_to, total_minutes, station_id
Hours events carry record_id, volunteer_number, activity_id, team_id, station_id,
division_code, county, city, province, start, end (UTC), service_date and minutes.
No event carries a name, ID number, phone, birth date, note or reason: other
services use the volunteer number.

Consumed, through the inbox `volunteer.inbox`:
  wushe.registry.station.*.v1               the stations read model (stations_view)
  wushe.volunteer.hours.approved.v1 and .corrected.v1   the totals read model (totals)
"""
from services.common import inbox
from services.volunteer import stations_view, totals

STATION_EVENTS = (
    "created", "built", "opened", "suspended", "resumed", "closed", "updated",
    "checklist_updated", "staffing_changed", "room_added", "room_removed",
)

HOURS_APPROVED = "wushe.volunteer.hours.approved.v1"
HOURS_CORRECTED = "wushe.volunteer.hours.corrected.v1"
TOTALS_EVENTS = (HOURS_APPROVED, HOURS_CORRECTED)

SUBSCRIPTIONS = [
    ("registry", "wushe.registry.station.#"),
    ("volunteer", HOURS_APPROVED),
    ("volunteer", HOURS_CORRECTED),
]

INBOX = inbox.inbox_queue("volunteer", SUBSCRIPTIONS)

HANDLERS = {f"wushe.registry.station.{name}.v1": stations_view.apply_station_event
            for name in STATION_EVENTS}
HANDLERS[HOURS_APPROVED] = totals.apply_approved
HANDLERS[HOURS_CORRECTED] = totals.apply_corrected
