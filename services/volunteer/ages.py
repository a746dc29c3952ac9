"""Ages, and the rule of silver-age teams (银龄志愿服务队): members aged 60 or
over on the day they join."""
from services.common.errors import Conflict

SILVER_AGE = 60


def age_on(birth_date, day):
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def check_member_age(kind, volunteer_number, birth_date, joined_on):
    """Silver-age teams take members 60 or over on the day they join."""
    if kind != "silver_age":
        return
    age = age_on(birth_date, joined_on)
    if age < SILVER_AGE:
        raise Conflict(
            f"volunteer {volunteer_number} is {age} on {joined_on.isoformat()}; a silver-age team "
            f"takes members {SILVER_AGE} or over",
            fields={"volunteer_number": [f"under {SILVER_AGE} on the day of joining"]},
            details={"volunteer_number": volunteer_number, "age": age,
                     "joined_on": joined_on.isoformat()})
